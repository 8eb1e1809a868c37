import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../auth/AuthProvider";
import { LoginPage } from "./LoginPage";

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status });
}

function renderLogin() {
  render(
    <MemoryRouter initialEntries={["/login"]}>
      <AuthProvider>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/interviews" element={<p>candidate home</p>} />
          <Route path="/hr/interviews" element={<p>hr home</p>} />
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}

afterEach(() => localStorage.clear());

describe("LoginPage", () => {
  it("signs a candidate in and lands on their interviews", async () => {
    vi.spyOn(globalThis, "fetch")
      .mockResolvedValueOnce(json(200, { access_token: "t", token_type: "bearer", expires_in: 60 }))
      .mockResolvedValueOnce(json(200, { id: 1, email: "c@x.test", full_name: "C", role: "candidate", is_active: true }));
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("E-mail"), "c@x.test");
    await user.type(screen.getByLabelText("Password"), "secret123");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("candidate home")).toBeInTheDocument();
  });

  it("sends HR to the interview list", async () => {
    vi.spyOn(globalThis, "fetch")
      .mockResolvedValueOnce(json(200, { access_token: "t", token_type: "bearer", expires_in: 60 }))
      .mockResolvedValueOnce(json(200, { id: 1, email: "h@x.test", full_name: "H", role: "hr_manager", is_active: true }));
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("E-mail"), "h@x.test");
    await user.type(screen.getByLabelText("Password"), "secret123{Enter}");
    expect(await screen.findByText("hr home")).toBeInTheDocument();
  });

  it("says plainly when the credentials are wrong", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValueOnce(json(401, { detail: "Incorrect email or password" }));
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("E-mail"), "c@x.test");
    await user.type(screen.getByLabelText("Password"), "wrong-pass");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That e-mail and password don't match an active account.");
  });
});
