-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "token_scope" AS ENUM ('read', 'write', 'run');

-- CreateEnum
CREATE TYPE "run_status" AS ENUM ('pending', 'queued', 'starting', 'running', 'restarting', 'succeeded', 'failed', 'suspended', 'cancelled');

-- CreateTable
CREATE TABLE "projects" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "run_id" UUID,
    "name" TEXT NOT NULL,
    "scope" "token_scope" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "job_namespace" TEXT,
    "job_name" TEXT,
    "job_uid" TEXT,
    "hyperparams" JSONB NOT NULL DEFAULT '{}',
    "status" "run_status" NOT NULL DEFAULT 'pending',
    "exit_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "step" BIGINT,
    "total_steps" BIGINT,
    "epoch" INTEGER,
    "eta_seconds" DOUBLE PRECISION,
    "last_metrics" JSONB NOT NULL DEFAULT '{}',
    "sweep_id" TEXT,
    "trial_id" TEXT,

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "metric_series" (
    "id" SERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "key" TEXT NOT NULL,

    CONSTRAINT "metric_series_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "metric_points" (
    "series_id" INTEGER NOT NULL,
    "step" BIGINT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "wall_time" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "metric_points_pkey" PRIMARY KEY ("series_id","step")
);

-- CreateTable
CREATE TABLE "metric_rollups" (
    "series_id" INTEGER NOT NULL,
    "shift" SMALLINT NOT NULL,
    "bucket" BIGINT NOT NULL,
    "n" BIGINT NOT NULL,
    "first" DOUBLE PRECISION[],
    "last" DOUBLE PRECISION[],
    "low" DOUBLE PRECISION[],
    "high" DOUBLE PRECISION[],

    CONSTRAINT "metric_rollups_pkey" PRIMARY KEY ("series_id","shift","bucket")
);

-- CreateTable
CREATE TABLE "checkpoints" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "run_id" UUID NOT NULL,
    "step" BIGINT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "path" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "is_best" BOOLEAN NOT NULL DEFAULT false,
    "is_last" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_events" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "run_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "log_lines" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "worker" TEXT NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "line" TEXT NOT NULL,

    CONSTRAINT "log_lines_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "projects_name_key" ON "projects"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_project_id_idx" ON "api_tokens"("project_id");

-- CreateIndex
CREATE UNIQUE INDEX "runs_job_uid_key" ON "runs"("job_uid");

-- CreateIndex
CREATE INDEX "runs_project_id_created_at_idx" ON "runs"("project_id", "created_at");

-- CreateIndex
CREATE INDEX "runs_job_namespace_job_name_idx" ON "runs"("job_namespace", "job_name");

-- CreateIndex
CREATE INDEX "runs_sweep_id_idx" ON "runs"("sweep_id");

-- CreateIndex
CREATE UNIQUE INDEX "metric_series_run_id_key_key" ON "metric_series"("run_id", "key");

-- CreateIndex
CREATE INDEX "metric_points_wall_time_idx" ON "metric_points" USING BRIN ("wall_time");

-- CreateIndex
CREATE INDEX "checkpoints_run_id_step_idx" ON "checkpoints"("run_id", "step");

-- CreateIndex
CREATE UNIQUE INDEX "checkpoints_run_id_path_key" ON "checkpoints"("run_id", "path");

-- CreateIndex
CREATE INDEX "run_events_run_id_id_idx" ON "run_events"("run_id", "id");

-- CreateIndex
CREATE INDEX "log_lines_run_id_worker_id_idx" ON "log_lines"("run_id", "worker", "id");

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "metric_series" ADD CONSTRAINT "metric_series_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "log_lines" ADD CONSTRAINT "log_lines_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Points have no foreign key (a per-row check would cost more than the insert); this trigger keeps
-- them from outliving their series when a run is deleted.
CREATE FUNCTION "metric_series_delete_points"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "metric_points" WHERE "series_id" = OLD."id";
  DELETE FROM "metric_rollups" WHERE "series_id" = OLD."id";
  RETURN OLD;
END $$;

CREATE TRIGGER "metric_series_delete_points" AFTER DELETE ON "metric_series"
  FOR EACH ROW EXECUTE FUNCTION "metric_series_delete_points"();
