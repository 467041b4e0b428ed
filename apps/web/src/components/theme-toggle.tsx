'use client';
// Light, dark or the OS's choice; the pick is remembered in localStorage and applied before paint.
import { useEffect, useState } from 'react';

type Pref = 'system' | 'light' | 'dark';

function apply(pref: Pref) {
  const dark = pref === 'dark' || (pref === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

export function ThemeToggle() {
  const [pref, setPref] = useState<Pref>('system');
  useEffect(() => {
    const saved = localStorage.getItem('kiln-theme');
    if (saved === 'light' || saved === 'dark') setPref(saved);
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => {
      if (!localStorage.getItem('kiln-theme')) apply('system');
    };
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);
  return (
    <label className="row">
      <span className="visually-hidden">Theme</span>
      <select
        aria-label="Theme"
        value={pref}
        onChange={(e) => {
          const p = e.target.value as Pref;
          setPref(p);
          if (p === 'system') localStorage.removeItem('kiln-theme');
          else localStorage.setItem('kiln-theme', p);
          apply(p);
        }}
      >
        <option value="system">OS theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
