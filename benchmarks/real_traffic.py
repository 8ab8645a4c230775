"""A month of a public repository's activity as GitHub webhook deliveries, for `replay`.

``python -m benchmarks.real_traffic GIT_DIR --repo OWNER/NAME --month YYYY-MM -o FILE``
reads the first-parent history of the default branch of a clone (fetched outside this
tree) and writes the webhook deliveries a repository webhook would have received that
month, as JSON lines ``slack-batcher replay`` reads (gzip when FILE ends in ``.gz``).

What comes from the real history: every merged pull request's number, title, author,
merge commit and merge time (a squash or merge commit whose subject ends in ``(#N)``),
every direct push (bots' release-notes commits included) with its real author, message and
time, and every release tag. What is derived, deterministically from the PR number (git
does not keep it): when the PR was opened (20 minutes to 2 days before its last commit),
its extra pushes, the CI runs each push starts (``Test``, ``Build Docs``; a tenth fail and
are pushed again), a review by a maintainer (another frequent committer), sometimes a
comment, and the CI runs on the default branch after the merge. Bodies are built by
:func:`slack_batcher.sources.samples.github_event` (shaped as GitHub documents them) with
the real values filled in. Deliveries before the month's start are left out.

``benchmarks/data/fastapi-2026-06.jsonl.gz`` was made with
``python -m benchmarks.real_traffic /work/.mirror/fastapi+fastapi/repo
--repo fastapi/fastapi --month 2026-06 -o benchmarks/data/fastapi-2026-06.jsonl.gz``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_batcher.sources.samples import github_event

_PR_SUBJECT = re.compile(r"^(?P<title>.*?)\s*\(#(?P<number>\d+)\)$")
_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


@dataclass(frozen=True, slots=True)
class Commit:
    """One first-parent commit of the default branch."""

    sha: str
    author: str
    email: str
    authored: datetime
    committed: datetime
    subject: str


def login(name: str, email: str) -> str:
    """A GitHub login for a commit author: the noreply address's, else the name, slugged."""
    local = email.split("@", 1)[0]
    if email.endswith("@users.noreply.github.com"):
        return local.split("+", 1)[-1]
    if name.endswith("[bot]"):
        return name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or local


def read_history(git_dir: Path, branch: str, since: datetime, until: datetime) -> list[Commit]:
    """Return the first-parent commits of *branch* committed in [since - 3 days, until)."""
    log = subprocess.run(
        ["git", f"--git-dir={git_dir}", "log", "--first-parent", branch,
         f"--since={(since - timedelta(days=3)).isoformat()}", f"--until={until.isoformat()}",
         "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%cI%x1f%s"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    commits = []
    for line in log.splitlines():
        sha, name, email, authored, committed, subject = line.split("\x1f")
        commits.append(
            Commit(
                sha,
                name,
                email,
                datetime.fromisoformat(authored).astimezone(UTC),
                datetime.fromisoformat(committed).astimezone(UTC),
                subject,
            )
        )
    return sorted(commits, key=lambda c: c.committed)


def read_tags(git_dir: Path, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
    """Return the (tag, time) of every tag created in [since, until)."""
    out = subprocess.run(
        ["git", f"--git-dir={git_dir}", "for-each-ref", "refs/tags",
         "--format=%(refname:short)%1f%(creatordate:iso-strict)"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tags = []
    for line in out.splitlines():
        name, when = line.split("\x1f")
        at = datetime.fromisoformat(when).astimezone(UTC)
        if since <= at < until:
            tags.append((name, at))
    return sorted(tags, key=lambda t: t[1])


class Month:
    """Collects the deliveries of one month of one repository."""

    def __init__(self, repo: str, branch: str, start: datetime, end: datetime) -> None:
        self.repo = repo
        self.branch = branch
        self.start = start
        self.end = end
        self.rows: list[tuple[datetime, str, dict[str, Any]]] = []
        self._runs = 0

    def add(self, at: datetime, event: str, body: dict[str, Any]) -> None:
        """Add one delivery (kept only inside the month)."""
        if self.start <= at < self.end:
            self._fill_repository(body)
            self.rows.append((at, event, body))

    def _fill_repository(self, body: dict[str, Any]) -> None:
        repository = body.get("repository")
        if isinstance(repository, dict):
            repository["private"] = False
            repository["default_branch"] = self.branch

    def event(
        self, event: str, action: str | None, sender: str, at: datetime, **fields: Any
    ) -> dict[str, Any]:
        """Build a body with :func:`github_event` for this repository."""
        return github_event(event, action, repo=self.repo, sender=sender, at=_iso(at), **fields)

    def ci(self, at: datetime, sender: str, sha: str, branch: str, name: str, failed: bool) -> None:
        """A workflow run of *name* completing at *at* for a push of *sha* to *branch*."""
        self._runs += 1
        number = 20_000 + self._runs
        body = self.event(
            "workflow_run",
            "completed",
            sender,
            at,
            number=number,
            name=name,
            sha=sha,
            branch=branch,
            conclusion="failure" if failed else "success",
            run_number=number,
            run_id=7_000_000_000 + number,
        )
        body["workflow_run"]["event"] = "pull_request" if branch != self.branch else "push"
        self.add(at, "workflow_run", body)

    def push(self, commit: Commit, sender: str, ref: str | None = None) -> None:
        """A push of *commit* to the default branch (or *ref*)."""
        body = self.event(
            "push",
            None,
            sender,
            commit.committed,
            sha=commit.sha,
            ref=ref or f"refs/heads/{self.branch}",
        )
        for pushed in body["commits"]:
            pushed.update(
                id=commit.sha,
                message=commit.subject,
                timestamp=_iso(commit.committed),
                url=f"https://github.com/{self.repo}/commit/{commit.sha}",
                author={"name": commit.author, "email": commit.email, "username": sender},
            )
        self.add(commit.committed, "push", body)

    def lines(self) -> list[dict[str, Any]]:
        """Return the deliveries as replay lines, in time order."""
        out = []
        for at, event, body in sorted(self.rows, key=lambda row: row[0]):
            text = json.dumps(body, sort_keys=True)
            out.append(
                {
                    "at": round((at - self.start).total_seconds(), 1),
                    "time": at.isoformat(),
                    "source": "github",
                    "event": event,
                    "delivery": str(uuid.uuid5(_NAMESPACE, f"{event}:{_iso(at)}:{text}")),
                    "body": body,
                }
            )
        return out


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(low: float, high: float, rnd: random.Random) -> timedelta:
    return timedelta(minutes=rnd.uniform(low, high))


def pull_request(month: Month, commit: Commit, number: int, title: str, people: list[str]) -> None:
    """The life of one merged pull request, ending in its real merge commit."""
    rnd = random.Random(number)
    author = login(commit.author, commit.email)
    bot = author.endswith("[bot]")
    merged = commit.committed
    last = min(commit.authored, merged)
    opened = last - timedelta(minutes=20 * (144 ** rnd.random()))  # 20 min … 2 days
    reviewers = [p for p in people if p != author] or [author]
    maintainer = reviewers[0]
    merger = people[0] if author != people[0] else maintainer
    branch = f"{author.removesuffix('[bot]')}/pr-{number}"
    fields = {"number": number, "title": title, "head": branch, "author": author}
    month.add(
        opened, "pull_request", month.event("pull_request", "opened", author, opened, **fields)
    )
    pushes = [opened]
    span = (last - opened).total_seconds()
    for _ in range(rnd.choice([0, 0, 1, 1, 2])):
        pushes.append(opened + timedelta(seconds=rnd.uniform(0.2, 0.9) * span))
    pushes.sort()
    for index, pushed in enumerate(pushes):
        sha = f"{number:08x}{index:032x}"
        if index:
            month.add(
                pushed,
                "pull_request",
                month.event("pull_request", "synchronize", author, pushed, **fields),
            )
        month.ci(pushed + _minutes(3, 6, rnd), author, sha, branch, "Build Docs", False)
        failed = rnd.random() < 0.1 and index == len(pushes) - 1 and not bot
        month.ci(pushed + _minutes(6, 12, rnd), author, sha, branch, "Test", failed)
        if failed:  # fixed and pushed again
            again = pushed + _minutes(15, 40, rnd)
            month.add(
                again,
                "pull_request",
                month.event("pull_request", "synchronize", author, again, **fields),
            )
            month.ci(again + _minutes(6, 12, rnd), author, sha[:-1] + "f", branch, "Test", False)
    reviewed = max(pushes[-1] + _minutes(10, 60, rnd), merged - _minutes(5, 120, rnd))
    reviewed = min(reviewed, merged - timedelta(minutes=1))
    state = "approved" if rnd.random() < 0.8 else "commented"
    month.add(
        reviewed,
        "pull_request_review",
        month.event(
            "pull_request_review",
            "submitted",
            maintainer,
            reviewed,
            reviewer=maintainer,
            state=state,
            **fields,
        ),
    )
    if rnd.random() < 0.4:
        said = opened + timedelta(seconds=rnd.uniform(0.1, 0.9) * (merged - opened).total_seconds())
        commenter = rnd.choice([author, maintainer]) if not bot else maintainer
        month.add(
            said,
            "issue_comment",
            month.event(
                "issue_comment",
                "created",
                commenter,
                said,
                on_pull_request=True,
                comment="Thanks! Could you add a test for this?",
                **fields,
            ),
        )
    closed = month.event(
        "pull_request", "closed", merger, merged, merged=True, state="closed", **fields
    )
    closed["pull_request"].update(
        merged_at=_iso(merged),
        closed_at=_iso(merged),
        created_at=_iso(opened),
        merge_commit_sha=commit.sha,
    )
    month.add(merged, "pull_request", closed)
    month.push(commit, merger)
    month.ci(merged + _minutes(6, 12, rnd), merger, commit.sha, month.branch, "Test", False)
    month.ci(merged + _minutes(4, 9, rnd), merger, commit.sha, month.branch, "Deploy Docs", False)


def build_month(git_dir: Path, repo: str, branch: str, month: str) -> list[dict[str, Any]]:
    """Return the month's deliveries (see the module docstring)."""
    start = datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    end = (start + timedelta(days=32)).replace(day=1)
    history = read_history(git_dir, branch, start, end)
    humans = Counter(login(c.author, c.email) for c in history if not c.author.endswith("[bot]"))
    people = [name for name, _ in humans.most_common(4)]
    collected = Month(repo, branch, start, end)
    for commit in history:
        found = _PR_SUBJECT.match(commit.subject)
        if found:
            pull_request(collected, commit, int(found["number"]), found["title"], people)
        else:
            collected.push(commit, login(commit.author, commit.email))
    for tag, at in read_tags(git_dir, start, end):
        release = collected.event(
            "release", "published", people[0], at, tag=tag, title=tag, body=f"Release {tag}"
        )
        collected.add(at, "release", release)
    return collected.lines()


def write(lines: list[dict[str, Any]], path: Path) -> None:
    """Write JSON lines, gzipped when *path* ends in ``.gz`` (reproducibly: no timestamp)."""
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main(argv: list[str]) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("git_dir", type=Path)
    parser.add_argument("--repo", required=True, help="owner/name, as GitHub spells it")
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--branch", default="master")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    lines = build_month(args.git_dir, args.repo, args.branch, args.month)
    write(lines, args.output)
    events = Counter(line["event"] for line in lines)
    print(f"{len(lines)} deliveries to {args.output}: {dict(events.most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
