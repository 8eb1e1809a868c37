/** Shared Tailwind class lists; every pair here meets WCAG AA contrast. */
export const btn =
  "inline-flex items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-semibold disabled:cursor-not-allowed";
export const btnPrimary = `${btn} bg-blue-700 text-white hover:bg-blue-800 disabled:bg-slate-300 disabled:text-slate-700`;
export const btnSecondary = `${btn} border border-slate-400 bg-white text-slate-900 hover:bg-slate-100 disabled:text-slate-500`;
export const btnDanger = `${btn} bg-red-700 text-white hover:bg-red-800 disabled:bg-slate-300 disabled:text-slate-700`;
export const input =
  "block w-full rounded-md border border-slate-500 bg-white px-3 py-2 text-slate-900 placeholder:text-slate-500";
export const label = "block text-sm font-medium text-slate-800";
export const card = "rounded-lg border border-slate-200 bg-white p-4 shadow-sm";
export const link = "text-blue-700 underline underline-offset-2 hover:text-blue-900";
export const pageTitle = "text-2xl font-bold text-slate-900";
