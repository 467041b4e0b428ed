-- CreateEnum
CREATE TYPE "sweep_status" AS ENUM ('running', 'paused', 'stopping', 'stopped', 'completed');

-- CreateEnum
CREATE TYPE "trial_state" AS ENUM ('running', 'complete', 'pruned', 'failed', 'stopped');

-- CreateTable
CREATE TABLE "sweeps" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "executor" TEXT NOT NULL DEFAULT 'cluster',
    "max_trials" INTEGER,
    "parallelism" INTEGER NOT NULL,
    "status" "sweep_status" NOT NULL DEFAULT 'running',
    "message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "sweeps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "trials" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "sweep_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "params" JSONB NOT NULL,
    "state" "trial_state" NOT NULL DEFAULT 'running',
    "value" DOUBLE PRECISION,
    "intermediate" JSONB NOT NULL DEFAULT '[]',
    "reason" TEXT,
    "job_name" TEXT NOT NULL,
    "job_uid" TEXT,
    "run_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "trials_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sweeps_status_idx" ON "sweeps"("status");

-- CreateIndex
CREATE UNIQUE INDEX "sweeps_project_id_name_key" ON "sweeps"("project_id", "name");

-- CreateIndex
CREATE INDEX "trials_sweep_id_state_idx" ON "trials"("sweep_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "trials_sweep_id_number_key" ON "trials"("sweep_id", "number");

-- AddForeignKey
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "trials" ADD CONSTRAINT "trials_sweep_id_fkey" FOREIGN KEY ("sweep_id") REFERENCES "sweeps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
