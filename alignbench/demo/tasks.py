"""The demo task: instructions generated from templates, topics x constraints.

An instruction is a request about a topic ("Explain how bees make honey.") followed by one or
more explicit constraints ("Answer in at most 30 words. End your answer with a question.").
Generation is seeded and pure: the same seed gives the same tasks on every machine, and the
split into SFT / ranking / PPO / eval prompts never lets one instruction appear in two stages
(PPO and eval prompts are held out, as in the paper).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from alignbench.demo.constraints import (
    INCOMPATIBLE,
    AllLowercase,
    BulletCount,
    Constraint,
    EndsWithQuestion,
    NoCommas,
    RequiredWord,
    StartsWith,
    WordLimit,
    parse_constraints,
)

TOPICS = [
    "how bees make honey",
    "the water cycle",
    "why the sky is blue",
    "how vaccines work",
    "the history of the bicycle",
    "how to brew tea",
    "why leaves change colour in autumn",
    "how a rainbow forms",
    "the benefits of walking",
    "how volcanoes erupt",
    "the life cycle of a butterfly",
    "how to keep a houseplant alive",
    "why we sleep",
    "how bread rises",
    "the phases of the moon",
    "how a compass works",
    "why cats purr",
    "how to save money",
    "the rules of chess",
    "how solar panels work",
    "why the ocean is salty",
    "how to learn a new language",
    "the importance of recycling",
    "how birds migrate",
    "how a refrigerator keeps food cold",
    "why exercise helps the heart",
    "how earthquakes happen",
    "the invention of the printing press",
    "how to plan a picnic",
    "why ice floats",
    "how plants make food from sunlight",
    "the basics of a healthy breakfast",
    "how trains run on rails",
    "why dogs wag their tails",
    "how clouds form",
    "how to write a thank you note",
    "the way tides work",
    "how a library organises books",
    "why some fruits are sweet",
    "how to start running",
    "how snow forms",
    "the job of a firefighter",
    "how a kite flies",
    "why people yawn",
    "how coffee is grown",
    "how to pack for a trip",
    "the purpose of a museum",
    "how the heart pumps blood",
]

REQUESTS = ["Explain {topic}.", "Describe {topic}.", "Tell me about {topic}.", "Write a short note about {topic}."]
REQUIRED_WORDS = ["simple", "important", "useful", "natural", "common", "clear", "helpful", "amazing"]
START_WORDS = ["Sure", "Yes", "Today", "Basically", "Well", "First"]
WORD_LIMITS = [20, 25, 30, 40]
BULLET_COUNTS = [2, 3]


def _random_constraint(name: str, rng: random.Random) -> Constraint:
    if name == "word_limit":
        return WordLimit(rng.choice(WORD_LIMITS))
    if name == "required_word":
        return RequiredWord(rng.choice(REQUIRED_WORDS))
    if name == "bullet_count":
        return BulletCount(rng.choice(BULLET_COUNTS))
    if name == "lowercase":
        return AllLowercase()
    if name == "starts_with":
        return StartsWith(rng.choice(START_WORDS))
    if name == "ends_with_question":
        return EndsWithQuestion()
    if name == "no_commas":
        return NoCommas()
    raise ValueError(name)


CONSTRAINT_NAMES = [
    "word_limit",
    "required_word",
    "bullet_count",
    "lowercase",
    "starts_with",
    "ends_with_question",
    "no_commas",
]


@dataclass(frozen=True)
class Task:
    """One instruction of the demo task."""

    id: str
    topic: str
    request: str
    constraints: tuple[Constraint, ...] = field(default_factory=tuple)

    @property
    def prompt(self) -> str:
        return " ".join([self.request.format(topic=self.topic)] + [c.phrase() for c in self.constraints])

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "prompt": self.prompt,
            "meta": {"topic": self.topic, "constraints": [c.name for c in self.constraints]},
        }


def topic_of(instruction: str) -> str:
    """The topic named by an instruction's request sentence (for the labeler's on-topic check).
    Every request template ends with "{topic}." and topics hold no period."""
    first = instruction.split(".")[0]
    for request in REQUESTS:
        head = request.partition("{topic}")[0]
        if first.startswith(head):
            return first[len(head) :]
    return first


def task_from_prompt(instruction: str, id: str = "") -> Task:
    """Read a task back from its instruction text (what the labeler sees)."""
    first = instruction.split(".")[0] + "."
    topic = topic_of(instruction)
    request = first.replace(topic, "{topic}", 1) if topic in first else first
    return Task(id=id, topic=topic, request=request, constraints=tuple(parse_constraints(instruction)))


def generate_tasks(n: int, seed: int = 0, min_constraints: int = 1, max_constraints: int = 2) -> list[Task]:
    """`n` distinct instructions: each a topic, a request template and 1..max compatible constraints."""
    rng = random.Random(seed)
    tasks: list[Task] = []
    seen: set[str] = set()
    attempts = 0
    while len(tasks) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ValueError(f"cannot generate {n} distinct tasks from {len(TOPICS)} topics")
        k = rng.randint(min_constraints, max_constraints)
        names = rng.sample(CONSTRAINT_NAMES, k)
        if any(frozenset(pair) in INCOMPATIBLE for pair in _pairs(names)):
            continue
        task = Task(
            id="",
            topic=rng.choice(TOPICS),
            request=rng.choice(REQUESTS),
            constraints=tuple(_random_constraint(name, rng) for name in names),
        )
        if task.prompt in seen:
            continue
        seen.add(task.prompt)
        tasks.append(
            Task(
                id=f"demo-{seed}-{len(tasks):04d}",
                topic=task.topic,
                request=task.request,
                constraints=task.constraints,
            )
        )
    return tasks


def _pairs(names: list[str]):
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


@dataclass(frozen=True)
class TaskSplits:
    sft: list[Task]
    rank: list[Task]
    ppo: list[Task]
    eval: list[Task]


def split_tasks(n_sft: int, n_rank: int, n_ppo: int, n_eval: int, seed: int = 0) -> TaskSplits:
    """Disjoint prompt sets for the four stages: no instruction (topic + request + constraints)
    appears in two stages, so PPO and eval prompts are held out as in the paper."""
    total = n_sft + n_rank + n_ppo + n_eval
    tasks = generate_tasks(total, seed=seed)
    a, b, c = n_sft, n_sft + n_rank, n_sft + n_rank + n_ppo
    return TaskSplits(sft=tasks[:a], rank=tasks[a:b], ppo=tasks[b:c], eval=tasks[c:])
