import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { canReadReports, isStaff } from "../auth/context";
import { useAuth } from "../auth/useAuth";
import { btnSecondary } from "./styles";

const navClass = ({ isActive }: { isActive: boolean }) =>
  `rounded px-2 py-1 text-sm font-medium ${isActive ? "bg-blue-50 text-blue-900 underline" : "text-slate-800 hover:underline"}`;

export function Layout() {
  const { user, logout } = useAuth();
  const navigate = useNavigate();
  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white print:hidden">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-4 px-4 py-3">
          <span className="text-lg font-bold text-blue-800">HireEz</span>
          {user ? (
            <nav aria-label="Main" className="flex flex-wrap gap-2">
              {canReadReports(user) ? (
                <>
                  <NavLink to="/hr/interviews" end className={navClass}>
                    Interviews
                  </NavLink>
                  {isStaff(user) ? (
                    <>
                      <NavLink to="/hr/interviews/new" className={navClass}>
                        New interview
                      </NavLink>
                      <NavLink to="/hr/candidates" className={navClass}>
                        Candidates
                      </NavLink>
                      <NavLink to="/hr/jobs" className={navClass}>
                        Jobs
                      </NavLink>
                    </>
                  ) : null}
                </>
              ) : (
                <NavLink to="/interviews" className={navClass}>
                  My interviews
                </NavLink>
              )}
            </nav>
          ) : null}
          {user ? (
            <div className="ml-auto flex items-center gap-3">
              <span className="text-sm text-slate-700">{user.full_name}</span>
              <button
                type="button"
                className={btnSecondary}
                onClick={() => {
                  logout();
                  navigate("/login");
                }}
              >
                Sign out
              </button>
            </div>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto max-w-6xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
