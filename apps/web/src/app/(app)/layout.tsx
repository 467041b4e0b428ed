// Every signed-in page: the project's header and navigation. session() sends the unsigned to /signin.
import Link from 'next/link';
import type { ReactNode } from 'react';
import { ThemeToggle } from '@/components/theme-toggle';
import { session } from '@/lib/api';

export default async function AppLayout({ children }: { children: ReactNode }) {
  const { project } = await session();
  return (
    <>
      <header className="top">
        <strong>Kiln</strong>
        <span className="muted" data-testid="project-name">
          {project.name}
        </span>
        <nav aria-label="Main">
          <Link href="/runs">Runs</Link>
          <Link href="/sweeps">Sweeps</Link>
          <Link href="/compare">Compare</Link>
          <Link href="/submit">Submit</Link>
        </nav>
        <ThemeToggle />
        <form method="post" action="/auth/signout">
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>{children}</main>
    </>
  );
}
