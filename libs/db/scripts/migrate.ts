// `npm run db:migrate`: applies prisma/migrations/* not yet applied to DATABASE_URL. A second run applies nothing.
import { applyMigrations } from '../src/migrations.js';

const url = process.env.DATABASE_URL ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln';
const applied = await applyMigrations(url);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date; nothing applied');
