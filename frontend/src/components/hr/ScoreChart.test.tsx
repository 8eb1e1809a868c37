import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ScoreChart } from "./ScoreChart";

describe("ScoreChart", () => {
  it("draws one bar per question, as wide as its score out of 10, labelled with the question", () => {
    render(
      <ScoreChart
        questions={[
          { id: 11, order: 0, text: "Tell me about a project." },
          { id: 12, order: 1, text: "How do you test?" },
        ]}
        scores={[
          { question_id: 11, score: 8, comment: "Clear and concrete." },
          { question_id: 12, score: 3.5, comment: null },
          { question_id: null, score: null, comment: null },
        ]}
      />,
    );
    const bars = screen.getAllByTestId("score-bar");
    expect(bars.map((b) => b.style.width)).toEqual(["80%", "35%", "0%"]);
    expect(screen.getByText("8 / 10")).toBeInTheDocument();
    expect(screen.getByText("3.5 / 10")).toBeInTheDocument();
    expect(screen.getByText("not scored")).toBeInTheDocument();
    expect(screen.getByText(/Tell me about a project\./)).toBeInTheDocument();
    expect(screen.getByText("Clear and concrete.")).toBeInTheDocument();
    expect(screen.getByRole("list", { name: "Score per question" }).children).toHaveLength(3);
  });

  it("keeps bars inside 0-100 %", () => {
    render(<ScoreChart questions={[]} scores={[{ question_id: 1, score: 14, comment: null }]} />);
    expect(screen.getByTestId("score-bar").style.width).toBe("100%");
  });
});
