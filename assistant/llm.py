"""Optional: let an OpenAI-compatible chat model phrase the answer, and check it before use.

Any endpoint speaking POST {base_url}/chat/completions works (DeepSeek, Qwen, vLLM,
llama.cpp, Ollama). The model sees only the retrieved clauses (prompts/llm_*.j2) and must
cite them as [n]. Its answer is used only if it cites at least one clause and every number,
date and unit name it states appears in a clause it cites; otherwise the extractive answer
is returned with a note saying why.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import replace

from .answer import PROMPTS_DIR, Answer, templates
from .fields import squeeze

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Unit names as these documents write them: 市税务局, 县（区）人民政府, 市政府金融办.
_UNIT_NAME = re.compile(r"[市县区省][\u4e00-\u9fff（）()]{1,14}?(?:委员会|人民政府|中心|公司|支行|海关|局|委|办)")
_CITE = re.compile(r"\[(\d{1,2})\]")


class LLMAnswerer:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 20.0,
                 max_clauses: int = 5):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout, self.max_clauses = model, api_key, timeout, max_clauses
        self.env = templates(PROMPTS_DIR)

    def rephrase(self, answer: Answer) -> Answer:
        citations = answer.citations[: self.max_clauses]
        clauses = [{"title": c.document.get("title"), "location": c.clause.label, "text": c.clause.text,
                    "units": "、".join(c.clause.fields.lead_units or c.clause.fields.responsible_units),
                    "deadline": c.clause.fields.deadline.text if c.clause.fields.deadline else ""}
                   for c in citations]
        messages = [
            {"role": "system", "content": self.env.get_template("llm_system.j2").render().strip()},
            {"role": "user", "content": self.env.get_template("llm_user.j2").render(
                question=answer.resolved_question, clauses=clauses).strip()},
        ]
        try:
            text = self.complete(messages)
        except (OSError, ValueError, KeyError, IndexError) as error:
            return replace(answer, note=f"语言模型不可用，返回条款原文摘录 (language model unavailable: {error})")
        problem = ungrounded(text, [c.clause.text + " " + json.dumps(c.clause.fields.to_dict(), ensure_ascii=False)
                                    + " " + (c.document.get("title") or "") for c in citations])
        if problem:
            return replace(answer, note=f"语言模型的回答未通过核对，返回条款原文摘录 ({problem})")
        return replace(answer, answer=text.strip(), mode="llm")

    def complete(self, messages: list[dict]) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
        content = data["choices"][0]["message"]["content"]
        if not isinstance(content, str) or not content.strip():
            raise ValueError("the model returned no text")  # refusals and tool calls send null
        return content


def ungrounded(text: str, sources: list[str]) -> str | None:
    """None when every fact the text states is in a clause it cites; else what is not."""
    cited = sorted({int(n) for n in _CITE.findall(text)})
    if not cited or any(n < 1 or n > len(sources) for n in cited):
        return "no valid clause citation like [1]"
    evidence = squeeze(" ".join(sources[n - 1] for n in cited))
    claims = squeeze(_CITE.sub("", text))
    for number in _NUMBER.findall(claims):
        # The same number, not a part of another (「1」 is not grounded by 「2021」).
        if not re.search(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)", evidence):
            return f"the number {number} is not in the cited clauses"
    for unit in _UNIT_NAME.findall(claims):
        if unit not in evidence:
            return f"the unit {unit} is not in the cited clauses"
    return None
