import { createContext } from "react";
import type { User } from "../api/client";

export interface AuthValue {
  user: User | null;
  /** True while a stored token is being checked with /auth/me. */
  loading: boolean;
  login: (email: string, password: string) => Promise<User>;
  logout: () => void;
}

export const AuthContext = createContext<AuthValue | null>(null);

export const STAFF_ROLES = ["super_admin", "hr_manager"] as const;
export const READER_ROLES = ["super_admin", "hr_manager", "interviewer"] as const;

export function isStaff(user: User | null): boolean {
  return !!user && (STAFF_ROLES as readonly string[]).includes(user.role);
}

export function canReadReports(user: User | null): boolean {
  return !!user && (READER_ROLES as readonly string[]).includes(user.role);
}

/** Where a user lands after signing in. */
export function homeFor(user: User): string {
  return canReadReports(user) ? "/hr/interviews" : "/interviews";
}
