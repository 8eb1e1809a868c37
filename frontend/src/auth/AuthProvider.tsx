import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, getToken, UNAUTHORIZED_EVENT, type User } from "../api/client";
import { AuthContext, type AuthValue } from "./context";

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState<boolean>(() => getToken() !== null);

  useEffect(() => {
    if (getToken() === null) return;
    const ac = new AbortController();
    api.me(ac.signal).then(
      (me) => {
        setUser(me);
        setLoading(false);
      },
      () => {
        if (!ac.signal.aborted) setLoading(false);
      },
    );
    return () => ac.abort();
  }, []);

  useEffect(() => {
    const onUnauthorized = () => setUser(null);
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  const login = useCallback(async (email: string, password: string) => {
    await api.login(email, password);
    const me = await api.me();
    setUser(me);
    return me;
  }, []);

  const logout = useCallback(() => {
    api.logout();
    setUser(null);
  }, []);

  const value = useMemo<AuthValue>(() => ({ user, loading, login, logout }), [user, loading, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
