import { Navigate, Route, Routes } from "react-router-dom";
import { homeFor, READER_ROLES, STAFF_ROLES } from "./auth/context";
import { useAuth } from "./auth/useAuth";
import { Layout } from "./components/Layout";
import { RequireAuth } from "./components/RequireAuth";
import { MyInterviewsPage } from "./pages/candidate/MyInterviewsPage";
import { CandidatesPage } from "./pages/hr/CandidatesPage";
import { CreateInterviewPage } from "./pages/hr/CreateInterviewPage";
import { InterviewReportPage } from "./pages/hr/InterviewReportPage";
import { InterviewsPage } from "./pages/hr/InterviewsPage";
import { JobsPage } from "./pages/hr/JobsPage";
import { LiveViewPage } from "./pages/hr/LiveViewPage";
import { InterviewRoomPage } from "./pages/interviews/InterviewRoomPage";
import { LoginPage } from "./pages/LoginPage";

function Home() {
  const { user, loading } = useAuth();
  if (loading) return null;
  return <Navigate to={user ? homeFor(user) : "/login"} replace />;
}

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Home />} />
        <Route path="login" element={<LoginPage />} />
        <Route
          path="interviews"
          element={
            <RequireAuth roles={["candidate"]}>
              <MyInterviewsPage />
            </RequireAuth>
          }
        />
        <Route
          path="interviews/:id/room"
          element={
            <RequireAuth>
              <InterviewRoomPage />
            </RequireAuth>
          }
        />
        <Route
          path="hr/interviews"
          element={
            <RequireAuth roles={READER_ROLES}>
              <InterviewsPage />
            </RequireAuth>
          }
        />
        <Route
          path="hr/interviews/new"
          element={
            <RequireAuth roles={STAFF_ROLES}>
              <CreateInterviewPage />
            </RequireAuth>
          }
        />
        <Route
          path="hr/interviews/:id"
          element={
            <RequireAuth roles={READER_ROLES}>
              <InterviewReportPage />
            </RequireAuth>
          }
        />
        <Route
          path="hr/interviews/:id/live"
          element={
            <RequireAuth roles={READER_ROLES}>
              <LiveViewPage />
            </RequireAuth>
          }
        />
        <Route
          path="hr/candidates"
          element={
            <RequireAuth roles={STAFF_ROLES}>
              <CandidatesPage />
            </RequireAuth>
          }
        />
        <Route
          path="hr/jobs"
          element={
            <RequireAuth roles={STAFF_ROLES}>
              <JobsPage />
            </RequireAuth>
          }
        />
        <Route
          path="*"
          element={
            <p role="alert" className="text-slate-900">
              Page not found.
            </p>
          }
        />
      </Route>
    </Routes>
  );
}
