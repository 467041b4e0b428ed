import { Module } from '@nestjs/common';
import { JobEventsController } from './job-events.controller.js';
import { JobLogsController } from './job-logs.controller.js';
import { JobsController } from './jobs.controller.js';
import { JobsService } from './jobs.service.js';

@Module({
  controllers: [JobsController, JobLogsController, JobEventsController],
  providers: [JobsService],
  exports: [JobsService],
})
export class JobsModule {}
