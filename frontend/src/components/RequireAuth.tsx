import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import type { Role } from "../api/client";
import { useAuth } from "../auth/useAuth";

/** Only for signed-in users (with one of `roles`, when given); others go to the login page. */
export function RequireAuth({ roles, children }: { roles?: readonly Role[]; children: ReactNode }) {
  const { user, loading } = useAuth();
  const location = useLocation();
  if (loading) {
    return (
      <p role="status" className="p-8 text-slate-700">
        Loading…
      </p>
    );
  }
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (roles && !roles.includes(user.role)) {
    return (
      <p role="alert" className="p-8 text-slate-900">
        You don't have access to this page.
      </p>
    );
  }
  return <>{children}</>;
}
