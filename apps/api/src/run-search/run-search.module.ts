import { Module } from '@nestjs/common';
import { RunSearchController } from './run-search.controller.js';
import { RunSearchService } from './run-search.service.js';

@Module({ controllers: [RunSearchController], providers: [RunSearchService], exports: [RunSearchService] })
export class RunSearchModule {}
