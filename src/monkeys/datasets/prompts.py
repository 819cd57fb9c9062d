"""Prompt templates: what the model is given for each problem.

A dataset's `prompt` config key is either the name of a preset below or a template text.
A template contains ``{{prompt}}`` (the problem as the dataset states it) and may use
``{{problem_id}}`` and ``{{entry_point}}``; nothing else is substituted, so LaTeX braces and
code in few-shot examples need no escaping. The rendered text is the `prompt` column of
problems.parquet, which the sampler sends as is.

For datasets graded by unit tests (HumanEval, MBPP and their plus versions) the harness runs
``prompt + completion + tests``: a template for them must render to Python (e.g. example
functions before ``{{prompt}}``), as the default ``plain`` does.

The few-shot presets follow the papers: Large Language Monkeys sampled GSM8K and MATH with
few-shot prompts (GSM8K: examples from its train split; MATH: the 4-shot prompt of Minerva,
Lewkowycz et al. 2022, whose final-answer line `extract_answer` reads).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from monkeys.errors import MonkeysError

FIELDS = ("prompt", "problem_id", "entry_point")


class PromptError(MonkeysError, ValueError):
    """A prompt template or preset name is unusable."""


# The first five problems of GSM8K's train split (openai/grade-school-math, MIT licence), as
# upstream (its "Maila" typo included) less the <<calculator>> annotations.
_GSM8K_SHOTS = [
    (
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
        "in May. How many clips did Natalia sell altogether in April and May?",
        "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April "
        "and May.\n#### 72",
    ),
    (
        "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
        "How much did she earn?",
        "Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10.\n#### 10",
    ),
    (
        "Betty is saving money for a new wallet which costs $100. Betty has only half of the money "
        "she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice "
        "as much as her parents. How much more money does Betty need to buy the wallet?",
        "In the beginning, Betty has only 100 / 2 = $50.\nBetty's grandparents gave her "
        "15 * 2 = $30.\nThis means, Betty needs 100 - 50 - 30 - 15 = $5 more.\n#### 5",
    ),
    (
        "Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she "
        "read twice as many pages as yesterday. If she wants to read half of the remaining pages "
        "tomorrow, how many pages should she read?",
        "Maila read 12 x 2 = 24 pages today.\nSo she was able to read a total of 12 + 24 = 36 pages "
        "since yesterday.\nThere are 120 - 36 = 84 pages left to be read.\nSince she wants to read "
        "half of the remaining pages tomorrow, then she should read 84/2 = 42 pages.\n#### 42",
    ),
    (
        "James writes a 3-page letter to 2 different friends twice a week.  How many pages does he "
        "write a year?",
        "He writes each friend 3*2=6 pages a week\nSo he writes 6*2=12 pages every week\nThat means "
        "he writes 12*52=624 pages a year\n#### 624",
    ),
]

GSM8K_5SHOT = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in _GSM8K_SHOTS) + (
    "Question: {{prompt}}\nAnswer:"
)

# Minerva's 4-shot MATH prompt (Lewkowycz et al. 2022, appendix D.2); problems from MATH's
# train split (hendrycks/math, MIT licence).
MATH_4SHOT = r"""Problem:
Find the domain of the expression  $\frac{\sqrt{x-2}}{\sqrt{5-x}}$.}

Solution:
The expressions inside each square root must be non-negative. Therefore, $x-2 \ge 0$, so $x\ge2$, and $5 - x \ge 0$, so $x \le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is $\boxed{[2,5)}$.
Final Answer: The final answer is $[2,5)$. I hope it is correct.

Problem:
If $\det \mathbf{A} = 2$ and $\det \mathbf{B} = 12,$ then find $\det (\mathbf{A} \mathbf{B}).$

Solution:
We have that $\det (\mathbf{A} \mathbf{B}) = (\det \mathbf{A})(\det \mathbf{B}) = (2)(12) = \boxed{24}.$
Final Answer: The final answer is $24$. I hope it is correct.

Problem:
Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many times must Terrell lift them in order to lift the same total weight?

Solution:
If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\cdot 12\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\cdot15\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$: \begin{align*}
30n&=480\\
\Rightarrow\qquad n&=480/30=\boxed{16}
\end{align*}
Final Answer: The final answer is $16$. I hope it is correct.

Problem:
If the system of equations

\begin{align*}
6x-4y&=a,\\
6y-9x &=b.
\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero, find $\frac{a}{b},$ assuming $b$ is nonzero.

Solution:
If we multiply the first equation by $-\frac{3}{2}$, we obtain

$$6y-9x=-\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have

$$-\frac{3}{2}a=b\Rightarrow\frac{a}{b}=\boxed{-\frac{2}{3}}.$$
Final Answer: The final answer is $-\frac{2}{3}$. I hope it is correct.

Problem:
{{prompt}}

Solution:
"""

# CodeContests: one worked example (written for this project), then the problem; the model
# continues inside a ```python block, which `monkeys.grading.stdio.extract_code` closes.
CODECONTESTS_1SHOT = """Q: You are given two integers a and b. Print their sum.

Input

The only line contains two integers a and b (-10^9 <= a, b <= 10^9).

Output

Print a single integer: a + b.

Example

Input

3 5

Output

8

A: ```python
a, b = map(int, input().split())
print(a + b)
```

Q: {{prompt}}

A: ```python
"""

PRESETS: dict[str, str] = {
    "plain": "{{prompt}}",
    "gsm8k_5shot": GSM8K_5SHOT,
    "math_4shot": MATH_4SHOT,
    "codecontests_1shot": CODECONTESTS_1SHOT,
}


# Where a few-shot prompt's answer ends: the next example's header (as the papers' samplers
# stopped), or the code block's closing fence. `plain` has none: `sampling.stop` applies.
PRESET_STOPS: dict[str, tuple[str, ...]] = {
    "gsm8k_5shot": ("Question:",),
    "math_4shot": ("Problem:",),
    "codecontests_1shot": ("\n```", "\nQ:"),
}


def stop_sequences(
    dataset_stop: list[str] | None, prompt: str | None, default_prompt: str, sampling_stop: list[str]
) -> list[str]:
    """A dataset's stop sequences: its own `stop`, else its prompt preset's, else `sampling.stop`."""
    if dataset_stop is not None:
        return list(dataset_stop)
    preset = default_prompt if prompt is None else prompt
    return list(PRESET_STOPS.get(preset, sampling_stop))


@dataclass(frozen=True)
class PromptTemplate:
    """A resolved template: its name (preset or 'custom'), text and sha256."""

    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def render(self, **fields: str) -> str:
        """The template with ``{{field}}`` replaced by the given fields."""
        out = self.text
        for name in FIELDS:
            out = out.replace("{{" + name + "}}", str(fields.get(name, "")))
        return out


def resolve_template(value: str | None, default: str = "plain") -> PromptTemplate:
    """A preset by name, or a template text (anything containing ``{{prompt}}``)."""
    value = default if value is None else value
    if "{{prompt}}" in value:
        return PromptTemplate("custom", value)
    if value in PRESETS:
        return PromptTemplate(value, PRESETS[value])
    raise PromptError(
        f"unknown prompt preset {value!r}: use one of {', '.join(sorted(PRESETS))}, "
        "or a template text containing {{prompt}}"
    )
