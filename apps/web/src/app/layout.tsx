import '@fontsource-variable/inter';
import 'uplot/dist/uPlot.min.css';
import './globals.css';
import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { themeScript } from '@/lib/theme-script';

export const metadata: Metadata = { title: 'Kiln', description: 'Runs, metrics and jobs on Kiln' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a fixed script, no user input. */}
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body>{children}</body>
    </html>
  );
}
