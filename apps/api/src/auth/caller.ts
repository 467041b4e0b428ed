// `@Caller() p: Principal`: who is calling, as the auth guard found out.
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthedRequest } from './principal.js';

export const Caller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<AuthedRequest>().principal,
);
