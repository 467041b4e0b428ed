import { Module } from '@nestjs/common';
import { SweepEvents } from './sweep-events.js';
import { SWEEP_EVENTS, SWEEPS_CONFIG, type SweepsConfig, sweepsConfigFromEnv } from './sweeps.config.js';
import { SweepsController } from './sweeps.controller.js';
import { SweepsService } from './sweeps.service.js';

@Module({
  controllers: [SweepsController],
  providers: [
    { provide: SWEEPS_CONFIG, useFactory: () => sweepsConfigFromEnv() },
    {
      provide: SWEEP_EVENTS,
      useFactory: (c: SweepsConfig) => new SweepEvents(c.redisUrl, c.redisPrefix),
      inject: [SWEEPS_CONFIG],
    },
    SweepsService,
  ],
  exports: [SweepsService],
})
export class SweepsModule {}
