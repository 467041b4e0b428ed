// Every route needs a bearer token unless marked @Public() (health and readiness only).
import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthedRequest } from './principal.js';
import { TokenError, TokenStore } from './tokens.js';

const PUBLIC = 'kiln:public';
export const Public = () => SetMetadata(PUBLIC, true);

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenStore,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    if (!header) throw new UnauthorizedException('missing Authorization header (expected "Bearer <token>")');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new UnauthorizedException('Authorization header must be "Bearer <token>"');
    try {
      req.principal = await this.tokens.resolve(m[1]!);
    } catch (e) {
      if (e instanceof TokenError) throw new UnauthorizedException(e.message);
      throw e;
    }
    return true;
  }
}
