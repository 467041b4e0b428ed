// A real API process for tests outside apps/api (the Trainer's PlatformLogger tests talk to it over HTTP
// only). Creates a fresh database on DATABASE_URL's server, a project and a run, prints one JSON line
// {url, projectId, projectToken, runId, runToken}, and on SIGTERM closes and drops the database.
// PORT=0 picks a free port; a fixed PORT lets a test restart the API at the same address.
import { ADMIN, seedProject, startApi } from './api.js';

const api = await startApi('serve', { port: Number(process.env.PORT ?? 0) }, null, process.env.DATABASE_URL);
const seed = await seedProject(api, `p${Date.now()}`);
console.log(
  JSON.stringify({
    url: api.url,
    databaseUrl: api.db.url,
    admin: ADMIN,
    projectId: seed.id,
    projectToken: seed.writeToken,
    runId: seed.runId,
    runToken: seed.runToken,
  }),
);
process.once('SIGTERM', () => {
  void api.close().then(() => process.exit(0));
});
