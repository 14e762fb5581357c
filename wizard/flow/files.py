"""What the wizard writes for a person, never over a file: CLI script, proof, plan as code."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wizard.core import iac, wording
from wizard.core.errors import UsageError
from wizard.core.formats import PlanFormat
from wizard.core.text import shell_command
from wizard.flow.state import Review, WizardState


def cli_header(state: WizardState, account: str | None = None) -> tuple[str, ...]:
    """The comment at the top of the AWS CLI script of a plan."""
    from wizard import __version__

    key = wording.key_words(state.create_key_alias, None, state.key, read=False)
    where = f"account {account}, " if account else ""
    return (
        f"Made by cwl-export-wizard {__version__} for "
        f"{wording.destination(state.bucket or '', state.prefix, key)} ({where}{state.region}).",
        "Review it, run it (bash FILE), then prove the destination works with:",
        shell_command(
            "cwl-export-wizard",
            "test-export",
            "--region",
            state.region or "",
            "--bucket",
            state.bucket or "",
            "--prefix",
            state.prefix,
            "--log-group",
            "LOG_GROUP",
        ),
    )


def save_script(text: str, state: WizardState, folder: Path | None = None) -> Path:
    """Write a plan's AWS CLI script into ``folder`` (the current one), never over a file."""
    base = (folder or Path.cwd()) / script_name(state).removesuffix(".sh")
    path = base.with_suffix(".sh")
    number = 2
    while path.exists():
        path = base.with_name(f"{base.name}-{number}.sh")
        number += 1
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o700)
    return path


PROOF_SUFFIX = ".md"


def save_proof(text: str, state: WizardState, folder: Path | None = None) -> Path:
    """Write a proof (Markdown) into ``folder`` (the current one), never over a file."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"cwl-export-proof-{state.bucket}-{stamp}"
    base = folder or Path.cwd()
    path = base / f"{name}{PROOF_SUFFIX}"
    number = 2
    while os.path.lexists(path):
        path = base / f"{name}-{number}{PROOF_SUFFIX}"
        number += 1
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path


# The infrastructure-as-code formats of a plan, and how the faces name them.
CODE_FORMATS = iac.FORMATS
CODE_TITLES = {
    PlanFormat.TERRAFORM: "Terraform",
    PlanFormat.CLOUDFORMATION: "CloudFormation",
    PlanFormat.DOCUMENTS: "documents (JSON)",
}


def code_context(review: Review) -> iac.Context:
    """What the code files say around the plan: the findings, and the bucket and the key as
    the snapshot saw them (what exists is imported, never created)."""
    from wizard import __version__

    return iac.Context(
        account=review.snapshot.identity.account,
        region=review.snapshot.region,
        diagnosed=tuple(dict.fromkeys(finding.code for finding in review.findings)),
        version=__version__,
        bucket=review.snapshot.bucket if review.snapshot.bucket.exists else None,
        key=review.snapshot.key if review.snapshot.key and review.snapshot.key.exists else None,
    )


def code_files(fmt: PlanFormat, review: Review) -> dict[str, str]:
    """The plan of ``review`` as ``fmt`` (terraform, cloudformation, documents): name -> text."""
    return iac.render(fmt, review.plan, code_context(review))


def code_next_steps(fmt: PlanFormat, review: Review, folder: Path) -> tuple[str, ...]:
    """What to do with the files once saved, in order: the pipeline, then the proof."""
    plan = review.plan
    prove = iac.proving_command(plan, review.snapshot.region)
    where = shlex.quote(str(folder))
    if fmt is PlanFormat.TERRAFORM:
        return (
            f"cd {where} && terraform init && terraform plan   # or add main.tf to your "
            "configuration",
            "terraform apply   # the import blocks adopt what exists; nothing else is touched",
            prove,
        )
    if fmt is PlanFormat.CLOUDFORMATION:
        return (f"cd {where}", *iac.cloudformation_steps(plan, code_context(review)), prove)
    return (
        f"Apply the files in {where} in the order plan.json gives (your pipeline, CDK, Pulumi)",
        prove,
    )


@dataclass(frozen=True)
class SavedCode:
    folder: Path
    paths: tuple[Path, ...]
    next_steps: tuple[str, ...]


def save_code(fmt: PlanFormat, review: Review, folder: Path | None = None) -> SavedCode:
    """Write the plan as ``fmt`` into a new folder ``cwl-export-wizard-BUCKET-FORMAT`` (``-2``,
    ``-3``... when taken) under ``folder`` (the current one). Changes nothing in the account
    and never writes over a file."""
    files = code_files(fmt, review)
    bucket = review.plan.choices.bucket if review.plan.choices else "plan"
    base = (folder or Path.cwd()).expanduser() / f"cwl-export-wizard-{bucket}-{fmt}"
    target, number = base, 2
    while target.exists():
        target = base.with_name(f"{base.name}-{number}")
        number += 1
    paths = write_new_files(target, files)
    return SavedCode(target, tuple(paths), code_next_steps(fmt, review, target))


def write_new_files(
    folder: Path, files: dict[str, str], *, executable: Iterable[str] = ()
) -> list[Path]:
    """Write ``files`` (name -> text) into ``folder`` (created if needed), all or none: a
    file that exists already (a dangling link too) is never overwritten (UsageError naming
    it, nothing written). The files are written in a private folder beside ``folder`` first,
    then renamed into place (a new folder) or linked in one by one, undone at a collision."""
    folder = folder.expanduser()
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder.", "Give a folder for --out.")
    paths = [folder / name for name in files]
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing:
        raise UsageError(
            f"{', '.join(existing)} exists already; nothing was written.",
            "Choose another folder, or move the file away first.",
        )
    staging: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
            (staging / name).chmod(0o755 if name in executable else 0o644)
        if not os.path.lexists(folder):
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)
            try:
                os.rename(staging, folder)  # atomic: all the files appear at once
                staging = None
                return paths
            except OSError:
                pass  # created meanwhile: link the files in, as into any existing folder
        _link_all(folder, staging, list(files))
    except OSError as error:
        raise UsageError(
            f"Cannot write into {folder}: {error.strerror or error}; nothing was written."
        ) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return paths


def _link_all(folder: Path, staging: Path | None, names: list[str]) -> None:
    """Link each staged file into ``folder``, never over a file; on a collision, remove the
    ones linked so far and name the file."""
    assert staging is not None
    linked: list[Path] = []
    for name in names:
        target = folder / name
        try:
            try:
                os.link(staging / name, target)
            except FileExistsError:
                raise
            except OSError:  # no hard links here: copy, still never over a file
                with target.open("xb") as handle:
                    handle.write((staging / name).read_bytes())
                target.chmod((staging / name).stat().st_mode & 0o777)
        except FileExistsError:
            for path in linked:
                path.unlink(missing_ok=True)
            raise UsageError(
                f"{target} appeared while writing; nothing was written.",
                "Choose another folder, or move the file away first.",
            ) from None
        linked.append(target)


def script_name(state: WizardState) -> str:
    return f"cwl-export-wizard-{state.bucket or 'plan'}.sh"
