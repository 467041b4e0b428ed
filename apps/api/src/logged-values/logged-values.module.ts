import { Module } from '@nestjs/common';
import { IngestService } from './ingest.service.js';
import { IngestBodyPipe } from './ingest-body.pipe.js';
import { LoggedValuesController } from './logged-values.controller.js';
import { SeriesService } from './series.service.js';

@Module({
  controllers: [LoggedValuesController],
  providers: [IngestService, SeriesService, IngestBodyPipe],
  exports: [IngestService, SeriesService],
})
export class LoggedValuesModule {}
