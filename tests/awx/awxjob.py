"""What AWX does when it launches a job template, for the files in awx/: the survey's checks and defaults, the
credential type's injectors rendered with Jinja2 (a sandbox, as AWX renders them), and the playbook run through
ansible-runner in a private data directory with the survey answers as extra variables marked !unsafe.

    job = launch("Slipway - scale", {"slipway_app": "shop", "slipway_process_count": 3},
                 credentials={"slipway": {"url": ..., "token": ..., "ca_cert": ...}}, collections=path)
    job.status, job.stdout, job.result("Scale (the job waits until the processes run)")
"""
from __future__ import annotations

import copy
import dataclasses
import os
import pathlib
import stat
import sys
import tempfile

import ansible_runner
import yaml
from jinja2 import sandbox

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.path.dirname(sys.executable)
CREDENTIAL_TYPE = yaml.safe_load((ROOT / "awx" / "credential_type.yml").read_text())
for _name in ("SLIPWAY_URL", "SLIPWAY_TOKEN", "SLIPWAY_CA_PATH", "SLIPWAY_VALIDATE_CERTS", "SLIPWAY_TIMEOUT"):
    os.environ.pop(_name, None)  # a job's environment has only what its credentials inject
TEMPLATES = {t["name"]: t for t in yaml.safe_load((ROOT / "awx" / "job_templates.yml").read_text())["job_templates"]}


class SurveyError(Exception):
    """AWX refuses to launch: the answers do not pass the survey's checks (AWX's own messages)."""


def survey_errors(element: dict, data: dict) -> list[str]:
    """AWX's check of one survey question against the answers (SurveyJobTemplateMixin._survey_element_validation)."""
    var, kind = element["variable"], element["type"]
    if var not in data:
        return [f"'{var}' value missing"] if element.get("required") else []
    value = data[var]
    low, high = element.get("min"), element.get("max")
    choices = element.get("choices") or []
    if isinstance(choices, str):
        choices = [c for c in choices.splitlines() if c.strip()]
    if kind in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value} for '{var}' expected to be a string."]
        if low not in ("", None) and len(value) < int(low):
            return [f"'{var}' value {value} is too small (length is {len(value)} must be at least {low})."]
        if high not in ("", None) and len(value) > int(high):
            return [f"'{var}' value {value} is too large (must be no more than {high})."]
    elif kind == "integer":
        if type(value) is not int:
            return [f"Value {value} for '{var}' expected to be an integer."]
        if low not in ("", None) and value < int(low):
            return [f"'{var}' value {value} is too small (must be at least {low})."]
        if high not in ("", None) and value > int(high):
            return [f"'{var}' value {value} is too large (must be no more than {high})."]
    elif kind == "multiselect":
        if not isinstance(value, list):
            return [f"'{var}' value is expected to be a list."]
        return [f"Value {v} for '{var}' expected to be one of {choices}." for v in value if v not in choices]
    elif kind == "multiplechoice":
        if value not in choices:
            return [f"Value {value} for '{var}' expected to be one of {choices}."]
    return []


def survey_extra_vars(template: dict, answers: dict) -> dict:
    """The job's extra variables: the survey defaults that pass their own checks, then the answers, all checked."""
    spec = template["survey_spec"]["spec"]
    extra = {}
    for element in spec:
        default = element.get("default")
        if default is not None and not survey_errors(element, {element["variable"]: default}):
            extra[element["variable"]] = default
    extra.update(answers)
    errors = [e for element in spec for e in survey_errors(element, extra)]
    if errors:
        raise SurveyError("; ".join(errors))
    return extra


class _Namespace:
    """AWX's `tower` namespace of the injector templates (tower.filename)."""


def render_credential(credential_type: dict, inputs: dict, private_data_dir: str) -> tuple[dict, dict]:
    """(env, safe_env) for a credential of this type, as CredentialType.inject_credential builds them: empty inputs
    are left undefined, missing booleans are false, each `file` template is written to a file of its own under
    env/ (mode 0600) whose path is `tower.filename` (or `tower.filename.<name>` for `template.<name>`), then every
    `env` template is rendered. safe_env is what AWX stores with the job: secret inputs masked."""
    fields = credential_type["inputs"]["fields"]
    secret = {f["id"] for f in fields if f.get("secret")}
    missing = [r for r in credential_type["inputs"].get("required", []) if not inputs.get(r)]
    assert not missing, f"the credential lacks required inputs {missing}"
    assert set(inputs) <= {f["id"] for f in fields}, f"unknown inputs {set(inputs) - {f['id'] for f in fields}}"
    tower = _Namespace()
    namespace, safe = {"tower": tower}, {"tower": tower}
    for name, value in inputs.items():
        if isinstance(value, bool):
            namespace[name] = safe[name] = value
            continue
        if name in secret:
            safe[name] = "**********"
        elif len(value):
            safe[name] = value
        if len(value):
            namespace[name] = value
    for field in fields:
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = safe[field["id"]] = False
    jinja = sandbox.ImmutableSandboxedEnvironment()
    os.makedirs(os.path.join(private_data_dir, "env"), exist_ok=True)
    for label, template in credential_type["injectors"].get("file", {}).items():
        data = jinja.from_string(template).render(**namespace)
        fd, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        with os.fdopen(fd, "w") as f:
            f.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = _Namespace()
            setattr(tower.filename, label.split(".", 1)[1], path)
    env, safe_env = {}, {}
    for name, template in credential_type["injectors"].get("env", {}).items():
        assert not name.startswith("ANSIBLE_"), f"AWX refuses to inject {name}"
        env[name] = jinja.from_string(template).render(**namespace)
        safe_env[name] = jinja.from_string(template).render(**safe)
    return env, safe_env


class _Unsafe(str):
    pass


def _unsafe(value):
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, list):
        return [_unsafe(v) for v in value]
    if isinstance(value, dict):
        return {k: _unsafe(v) for k, v in value.items()}
    return value


yaml.SafeDumper.add_representer(_Unsafe, lambda dumper, data: dumper.represent_scalar("!unsafe", str(data), style="'"))


@dataclasses.dataclass
class Job:
    status: str
    rc: int
    stdout: str
    events: list
    env: dict
    safe_env: dict
    extra_vars: dict

    def results(self, task: str) -> list[dict]:
        """The results of every host for the task of that name (ok, changed, failed)."""
        return [e["event_data"]["res"] for e in self.events
                if e.get("event") in ("runner_on_ok", "runner_on_failed")
                and e["event_data"].get("task") == task]

    def result(self, task: str) -> dict:
        found = self.results(task)
        assert len(found) == 1, f"{len(found)} results of {task!r}:\n{self.stdout[-3000:]}"
        return found[0]

    def failures(self) -> list[dict]:
        return [e["event_data"] for e in self.events if e.get("event") in ("runner_on_failed", "runner_on_unreachable")]

    def hosts_touched(self) -> set[str]:
        return {e["event_data"]["host"] for e in self.events if e.get("event", "").startswith("runner_on_")}


def launch(name: str, answers: dict | None = None, *, credentials: dict[str, dict] | None = None,
           collections: str, inventory: str = "", timeout: int = 900, workdir: str | None = None,
           extra_vars: dict | None = None) -> Job:
    """Launch the job template `name` of awx/job_templates.yml as AWX would: `credentials` maps the template's
    credential kinds to inputs (only `slipway` is rendered; a machine credential has nothing to inject here),
    `inventory` is the inventory's text or an inventory folder, `extra_vars` the template's own extra variables
    (the survey's defaults and answers override them)."""
    template = copy.deepcopy(TEMPLATES[name])
    extra = dict(extra_vars or {}, **survey_extra_vars(template, dict(answers or {})))
    credentials = credentials or {}
    unknown = set(credentials) - set(template["credentials"])
    assert not unknown, f"{name} takes no {unknown} credential"
    pdd = tempfile.mkdtemp(prefix="awx-job-", dir=workdir)
    env, safe_env = {}, {}
    if "slipway" in credentials:
        env, safe_env = render_credential(CREDENTIAL_TYPE, credentials["slipway"], pdd)
    os.makedirs(os.path.join(pdd, "env"), exist_ok=True)
    with open(os.path.join(pdd, "env", "extravars"), "w") as f:
        yaml.safe_dump(_unsafe(extra), f)
    inv = inventory
    if not os.path.isdir(inventory):
        inv = os.path.join(pdd, "inventory")
        with open(inv, "w") as f:
            f.write(inventory or "[slipway]\n")
    project = os.path.join(collections.split(os.pathsep)[0], "ansible_collections", "slipway", "paas")
    envvars = dict(env, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_COLLECTIONS_PATH=collections,
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   ANSIBLE_HOST_KEY_CHECKING="0")
    runner = ansible_runner.run(private_data_dir=pdd, project_dir=project, playbook=template["playbook"],
                                inventory=inv, envvars=envvars, quiet=True, timeout=timeout)
    stdout = runner.stdout.read()
    return Job(runner.status, runner.rc, stdout, list(runner.events), env, safe_env, extra)


def install_collection(out: pathlib.Path) -> str:
    """The collection built from this tree and installed under `out` as a site installs it (offline, its
    dependencies first: tests/collection/conftest.py): the ANSIBLE_COLLECTIONS_PATH of the jobs."""
    from tests.collection.conftest import galaxy, install_dependencies
    cfg, path = out / "ansible.cfg", out / "c"
    cfg.write_text("[defaults]\n")
    proc = galaxy("collection", "build", "--output-path", str(out), str(ROOT), cfg=str(cfg), collections=str(path),
                  cwd=str(out))
    assert proc.returncode == 0, proc.stdout
    install_dependencies(str(path))
    proc = galaxy("collection", "install", "--offline", "-p", str(path), str(next(out.glob("slipway-paas-*.tar.gz"))),
                  cfg=str(cfg), collections=str(path), cwd=str(out))
    assert proc.returncode == 0, proc.stdout
    return str(path)
