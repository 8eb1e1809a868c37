import { fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ChatMessage } from "../../hooks/connectionMachine";
import { ConversationDisplay } from "./ConversationDisplay";

const ai = (id: string, content: string, streaming = false): ChatMessage => ({
  id,
  role: "ai",
  content,
  streaming,
  status: "sent",
  streamId: id,
});
const cand = (id: string, content: string, status: ChatMessage["status"] = "sent"): ChatMessage => ({
  id,
  role: "candidate",
  content,
  streaming: false,
  status,
  clientMsgId: id,
});

describe("ConversationDisplay", () => {
  it("shows a streaming AI message with a blinking cursor, growing in place", () => {
    const { rerender } = render(<ConversationDisplay messages={[ai("g", "Hel", true)]} />);
    const aiMessages = () => screen.getAllByTestId("message-ai");
    expect(aiMessages()).toHaveLength(1);
    expect(aiMessages()[0]).toHaveTextContent("Hel");
    expect(screen.getByTestId("stream-cursor")).toBeInTheDocument();
    expect(screen.getByTestId("stream-cursor")).toHaveAttribute("aria-hidden", "true");

    rerender(<ConversationDisplay messages={[ai("g", "Hello, wel", true)]} />);
    expect(aiMessages()).toHaveLength(1);
    expect(aiMessages()[0]).toHaveTextContent("Hello, wel");
  });

  it("shows no cursor once the message is finished", () => {
    render(<ConversationDisplay messages={[ai("g", "Hello.", false)]} />);
    expect(screen.queryByTestId("stream-cursor")).not.toBeInTheDocument();
    expect(screen.getByTestId("message-ai")).toHaveTextContent("Hello.");
  });

  it("announces only finished AI turns, never the tokens of one still streaming", () => {
    const announcer = () => screen.getByTestId("announcer");
    const { rerender } = render(<ConversationDisplay messages={[ai("g", "Welcome.")]} />);
    expect(announcer()).toHaveAttribute("aria-live", "polite");
    expect(announcer()).toHaveTextContent("Interviewer: Welcome.");

    rerender(<ConversationDisplay messages={[ai("g", "Welcome."), cand("c1", "Hi"), ai("r1", "Tell me", true)]} />);
    expect(announcer()).toHaveTextContent("Interviewer: Welcome.");
    expect(announcer()).not.toHaveTextContent("Tell me");

    rerender(<ConversationDisplay messages={[ai("g", "Welcome."), cand("c1", "Hi"), ai("r1", "Tell me more", true)]} />);
    expect(announcer()).not.toHaveTextContent("Tell me");

    rerender(<ConversationDisplay messages={[ai("g", "Welcome."), cand("c1", "Hi"), ai("r1", "Tell me more.")]} />);
    expect(announcer()).toHaveTextContent("Interviewer: Tell me more.");
    expect(announcer()).not.toHaveTextContent("Welcome.");
  });

  it("the visible conversation itself is not a live region", () => {
    render(<ConversationDisplay messages={[ai("g", "x", true)]} />);
    const region = screen.getByRole("region", { name: "Conversation" });
    expect(region).not.toHaveAttribute("aria-live");
    expect(region.closest("[aria-live]")).toBeNull();
    expect(screen.getAllByText((_, el) => el?.getAttribute("aria-live") !== null && el?.getAttribute("aria-live") !== "off")).toHaveLength(1);
  });

  it("marks the streaming message busy", () => {
    render(<ConversationDisplay messages={[ai("g", "x", true)]} />);
    expect(within(screen.getByTestId("message-ai")).getByText("x")).toHaveAttribute("aria-busy", "true");
  });

  it("shows the thinking indicator", () => {
    render(<ConversationDisplay messages={[ai("g", "Q?"), cand("c1", "A")]} isThinking />);
    expect(screen.getByRole("status")).toHaveTextContent("AI is thinking…");
  });

  it("keeps thinking until the reply's first words arrive (no empty bubble)", () => {
    const { rerender } = render(<ConversationDisplay messages={[ai("g", "Q?"), cand("c1", "A"), ai("r", "", true)]} />);
    expect(screen.getByRole("status")).toHaveTextContent("AI is thinking…");
    expect(screen.getAllByTestId("message-ai")).toHaveLength(1);

    rerender(<ConversationDisplay messages={[ai("g", "Q?"), cand("c1", "A"), ai("r", "Thanks", true)]} />);
    expect(screen.queryByText("AI is thinking…")).not.toBeInTheDocument();
    expect(screen.getAllByTestId("message-ai")).toHaveLength(2);
  });

  it("shows the candidate's pending answer at once and offers a retry for a refused one", async () => {
    const onRetry = vi.fn();
    const { rerender } = render(<ConversationDisplay messages={[cand("c1", "My answer", "pending")]} onRetry={onRetry} />);
    expect(screen.getByTestId("message-candidate")).toHaveTextContent("You");
    expect(screen.getByText("Sending…")).toBeInTheDocument();
    rerender(<ConversationDisplay messages={[cand("c1", "My answer", "failed")]} onRetry={onRetry} />);
    expect(screen.getByText("Not sent.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(onRetry).toHaveBeenCalledWith("c1");
  });

  it("offers a retry after the AI failed on an answer", () => {
    render(<ConversationDisplay messages={[cand("c1", "My answer")]} onRetry={() => undefined} retryableClientMsgId="c1" />);
    expect(screen.getByText("The interviewer could not reply.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("follows new text to the bottom, unless the reader scrolled up", () => {
    const { rerender } = render(<ConversationDisplay messages={[ai("g", "a", true)]} />);
    const el = screen.getByTestId("conversation");
    Object.defineProperty(el, "scrollHeight", { configurable: true, value: 1000 });
    Object.defineProperty(el, "clientHeight", { configurable: true, value: 200 });
    rerender(<ConversationDisplay messages={[ai("g", "ab", true)]} />);
    expect(el.scrollTop).toBe(1000);

    el.scrollTop = 100;
    fireEvent.scroll(el);
    rerender(<ConversationDisplay messages={[ai("g", "abc", true)]} />);
    expect(el.scrollTop).toBe(100);

    el.scrollTop = 800;
    fireEvent.scroll(el);
    rerender(<ConversationDisplay messages={[ai("g", "abcd", true)]} />);
    expect(el.scrollTop).toBe(1000);
  });

  it("labels candidate turns as given (HR sees 'Candidate')", () => {
    render(<ConversationDisplay messages={[cand("c1", "x")]} candidateLabel="Candidate" />);
    expect(screen.getByTestId("message-candidate")).toHaveTextContent("Candidate");
  });
});
