// Runs before the first paint: the theme the user picked (remembered in localStorage), or the OS's.
export const themeScript = `(function(){try{var t=localStorage.getItem('kiln-theme');if(t!=='light'&&t!=='dark'){t=matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light'}document.documentElement.dataset.theme=t}catch(e){}})()`;
