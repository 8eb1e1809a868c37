import { useId, useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { homeFor } from "../auth/context";
import { useAuth } from "../auth/useAuth";
import { btnPrimary, card, input, label, pageTitle } from "../components/styles";

export function LoginPage() {
  const { user, login } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailId = useId();
  const passwordId = useId();
  const errorId = useId();

  if (user) return <Navigate to={from ?? homeFor(user)} replace />;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await login(email, password);
      navigate(from ?? homeFor(me), { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "That e-mail and password don't match an active account."
          : "Could not sign in. Please try again.",
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className={`${card} mx-auto mt-8 max-w-sm`}>
      <h1 className={pageTitle}>Sign in</h1>
      <form onSubmit={onSubmit} className="mt-4 flex flex-col gap-4" aria-describedby={error ? errorId : undefined}>
        <div>
          <label htmlFor={emailId} className={label}>
            E-mail
          </label>
          <input
            id={emailId}
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            className={`${input} mt-1`}
          />
        </div>
        <div>
          <label htmlFor={passwordId} className={label}>
            Password
          </label>
          <input
            id={passwordId}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className={`${input} mt-1`}
          />
        </div>
        {error ? (
          <p id={errorId} role="alert" className="text-sm text-red-900">
            {error}
          </p>
        ) : null}
        <button type="submit" className={btnPrimary} disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
