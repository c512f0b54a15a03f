# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The key ledger: fleet state kept on the controller (key budgets and the activations made).

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Action plugins run on the controller, one process per fork, so they read and write one
JSON file directly:

* **Where.** The task variable ``volume_activation_ledger`` names the file; without it,
  ``volume_activation_ledger.json`` beside the inventory (``inventory_dir``) when that
  file exists. No file and no variable: no ledger, nothing is counted or refused.
* **Keys.** A key is identified by its last five characters and a salted SHA-256 hash
  (the salt is random per ledger file); the key itself is never written.
* **Budgets.** Per key, the activations left as the operator reads them from the Volume
  Licensing Service Center (``remaining``, with the date it was read, ``as_of``), set with
  the ``key_budget`` module. ``None`` means "not budgeted": activations are recorded and
  nothing is refused.
* **Counting.** The activation service counts a MAK activation once per machine (the same
  machine activating again consumes nothing) and a KMS host key per host (6 hosts)
  [lab model after Microsoft's Volume Activation planning guide, see the lab's
  ``models/activation.py``]. The ledger counts the same way: the hosts that activated
  with the key since ``as_of`` and had not before, plus the hosts holding a reservation.
  ``available = remaining - used - reserved``.
* **Reservations (holds).** Installing a budgeted key, or attempting an activation with
  one, first reserves one activation for the host under the lock; refused when nothing
  is available, before the host is touched. A successful activation turns the hold into
  a record (host, CMID, product, date, method); an attempt that fails without consuming
  releases it.
* **Crash safety.** Every change is written atomically (temporary file in the same
  directory, fsync, rename, fsync of the directory) under an exclusive ``fcntl.flock``
  on ``<file>.lock``, shared by every fork and every ansible-playbook process. A process
  killed at any point leaves either the old or the new file and its lock is released by
  the kernel. A hold left by a killed run is settled the next time any task of the
  collection reads that host (:meth:`Ledger.reconcile`): the host shows the key
  activated -> one record (counted once), the key still installed -> the hold stays, the
  key gone -> released.

* **CID store.** Every installation ID / confirmation ID pair deposited by phone (proxy)
  activation is kept (``cids``: IID -> CID, host, product, partial key, date), as VAMT keeps
  them: a reimaged machine with the same hardware and key shows the same installation ID, and
  its confirmation ID is deposited again without asking Microsoft (:meth:`Ledger.stored_cids`).
  Confirmation IDs are secrets: the file is created mode 0600 and they are never returned.

Not modelled: the KMS host key's limit of 10 activations per host (only the 6 hosts are
counted); two ansible-playbook runs working on the same host at the same time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import secrets as _secrets
import tempfile
import time
import typing as t

#: The task variable naming the ledger file.
LEDGER_VAR = "volume_activation_ledger"
#: The default file name, looked for beside the inventory.
DEFAULT_NAME = "volume_activation_ledger.json"
FORMAT = 1
KINDS = ("mak", "kms_host")
#: How long a process waits for the lock before giving up (seconds).
LOCK_TIMEOUT = 120.0


class LedgerError(Exception):
    """The ledger refuses (budget used up, ambiguous key) or cannot be read or written.

    Raised before anything is sent to the host when it comes from :meth:`Ledger.reserve`
    or :meth:`Ledger.check`; the message is a whole sentence (``Failed to ...``).
    """


@dataclasses.dataclass(frozen=True)
class Claim:
    """What a planner is about to do with a key the ledger may budget.

    ``kind`` is ``install`` (``key`` is the whole key, used only to compute the hash, never
    stored) or ``activate`` (``key`` is None: an activation sees only the partial key the
    product shows). ``op_index`` is the operation in the plan's batch whose success decides
    the outcome (``InstallProductKey`` / ``Activate`` / ``DepositOfflineConfirmationId``).
    ``activation_id`` is None for an install whose product is known only afterwards.
    ``method`` is ``online`` or ``phone`` for activations.
    """

    kind: str
    op_index: int
    partial_key: str
    description: str
    key: str | None = dataclasses.field(default=None, repr=False)
    activation_id: str | None = None
    product: str | None = None
    method: str | None = None
    #: For a phone activation: the installation ID and the confirmation ID deposited for it,
    #: kept in the CID store when the deposit succeeds.
    installation_id: str | None = None
    confirmation_id: str | None = dataclasses.field(default=None, repr=False)
    #: For a Windows install: the edition the host runs (``Enterprise``), checked against the
    #: edition the ledger records for the key.
    edition: str | None = None

    def shifted(self, offset: int) -> Claim:
        """The same claim for a batch where this plan's operations start at ``offset``."""
        return dataclasses.replace(self, op_index=self.op_index + offset)


def now_iso(now: dt.datetime | None = None) -> str:
    """UTC time as ``2026-12-02T01:50:00Z``."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ledger_path(task_vars: t.Mapping[str, t.Any]) -> str | None:
    """The ledger file for a task: ``volume_activation_ledger`` (used even before the file
    exists), else ``<inventory_dir>/volume_activation_ledger.json`` when it exists, else None."""
    explicit = task_vars.get(LEDGER_VAR)
    if explicit:
        return os.path.abspath(os.path.expanduser(str(explicit)))
    inv = task_vars.get("inventory_dir")
    if inv:
        candidate = os.path.join(str(inv), DEFAULT_NAME)
        if os.path.exists(candidate):
            return os.path.abspath(candidate)
    return None


def _digits(text: str) -> str:
    return "".join(ch for ch in str(text) if ch.isdigit())


def _masked(partial: str) -> str:
    return f"XXXXX-XXXXX-XXXXX-XXXXX-{partial}"


@dataclasses.dataclass
class LedgerDoc:
    """The parsed file. Pure data and rules, no I/O; ``dirty`` is set by every change."""

    salt: str
    keys: dict[str, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    holds: dict[str, dict[str, dict[str, t.Any]]] = dataclasses.field(default_factory=dict)
    activations: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    cids: dict[str, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    dirty: bool = False

    # ------------------------------------------------------------------ (de)serialise
    @classmethod
    def new(cls) -> LedgerDoc:
        return cls(salt=_secrets.token_hex(16), dirty=True)

    @classmethod
    def from_json(cls, data: t.Mapping[str, t.Any], path: str = "the key ledger") -> LedgerDoc:
        if data.get("format") != FORMAT or not isinstance(data.get("salt"), str):
            raise LedgerError(f"Failed to read the key ledger '{path}': it is not a format {FORMAT} ledger "
                              "(no 'format' or 'salt')")
        return cls(salt=data["salt"], keys=dict(data.get("keys") or {}), holds=dict(data.get("holds") or {}),
                   activations=list(data.get("activations") or []), cids=dict(data.get("cids") or {}))

    def to_json(self) -> dict[str, t.Any]:
        return {"format": FORMAT, "salt": self.salt, "keys": self.keys, "holds": self.holds,
                "activations": self.activations, "cids": self.cids}

    # ------------------------------------------------------------------ identity
    def key_id(self, key: str) -> str:
        """``<last five>:<first 16 hex digits of sha256(salt + key)>`` for a normalised key."""
        norm = key.strip().upper()
        digest = hashlib.sha256(f"{self.salt}:{norm}".encode()).hexdigest()
        return f"{norm[-5:]}:{digest[:16]}"

    def entries_for_partial(self, partial: str) -> list[str]:
        return sorted(k for k, e in self.keys.items() if e.get("partial_key") == partial.upper())

    # ------------------------------------------------------------------ budgets
    def _hosts(self, kid: str, before: str | None = None, since: str | None = None) -> set[str]:
        out = set()
        for a in self.activations:
            if a.get("key") != kid:
                continue
            if before is not None and a["date"] >= before:
                continue
            if since is not None and a["date"] < since:
                continue
            out.add(a["host"])
        return out

    def budget(self, kid: str) -> dict[str, t.Any]:
        """``remaining`` (as set), ``used`` (new hosts activated since ``as_of``), ``reserved``
        (hosts holding a reservation that never activated with the key), ``available``
        (None when not budgeted), ``hosts`` (every host that activated with it)."""
        e = self.keys[kid]
        as_of = e.get("as_of")
        everyone = self._hosts(kid)
        earlier = self._hosts(kid, before=as_of) if as_of else set()
        used = self._hosts(kid, since=as_of) - earlier if as_of else everyone
        reserved = set(self.holds.get(kid, {})) - everyone
        remaining = e.get("remaining")
        available = None if remaining is None else remaining - len(used) - len(reserved)
        return {"remaining": remaining, "as_of": as_of, "used": len(used), "reserved": len(reserved),
                "available": available, "hosts": sorted(everyone), "reserved_by": sorted(reserved)}

    def set_budget(self, key: str, kind: str, remaining: int | None, note: str | None, now: str, *,
                   edition: str | None = None) -> str:
        kid = self.key_id(key)
        entry = self.keys.get(kid, {})
        new = {"partial_key": kid.split(":", 1)[0], "hash": kid.split(":", 1)[1], "kind": kind,
               "remaining": remaining, "as_of": entry.get("as_of") or now, "note": note, "edition": edition}
        if entry.get("remaining") != remaining or entry.get("kind") != kind:
            new["as_of"] = now
        if new != entry:
            self.keys[kid] = new
            self.dirty = True
        return kid

    def remove_key(self, kid: str) -> None:
        if kid in self.keys:
            del self.keys[kid]
            self.holds.pop(kid, None)
            self.dirty = True

    def free_for(self, kid: str, host: str) -> bool:
        """True when the host needs no new activation from the budget (it holds a reservation
        or already activated with the key)."""
        return host in self.holds.get(kid, {}) or host in self._hosts(kid)

    def refusal(self, kid: str, host: str, what: str) -> str | None:
        """The refusal message when ``host`` would need an activation and none is left."""
        if kid not in self.keys or self.free_for(kid, host):
            return None
        b = self.budget(kid)
        if b["available"] is None or b["available"] > 0:
            return None
        held = f", {b['reserved']} reserved by {', '.join(b['reserved_by'])}" if b["reserved"] else ""
        return (f"Failed to {what}: the key ledger shows no activation left for the "
                f"{'KMS host key' if self.keys[kid]['kind'] == 'kms_host' else 'MAK'} "
                f"'{_masked(self.keys[kid]['partial_key'])}' ({b['remaining']} left on {b['as_of']}, "
                f"{b['used']} used since{held}); nothing was sent to the host. Next step: get more activations "
                "from the Volume Licensing Service Center and record them with winops.volume_activation.key_budget")

    def hold(self, kid: str, host: str, by: str, activation_id: str | None, now: str) -> bool:
        """Reserve for ``host``; return True when a new hold was made. Call :meth:`refusal` first."""
        holds = self.holds.setdefault(kid, {})
        if host in holds:
            return False
        holds[host] = {"since": now, "by": by, "activation_id": activation_id}
        self.dirty = True
        return True

    def release(self, kid: str, host: str) -> None:
        if host in self.holds.get(kid, {}):
            del self.holds[kid][host]
            if not self.holds[kid]:
                del self.holds[kid]
            self.dirty = True

    def record(self, kid: str, host: str, *, cmid: str | None, activation_id: str | None, product: str | None,
               method: str, now: str) -> None:
        """One activation made: the hold (if any) becomes this record."""
        self.release(kid, host)
        self.activations.append({"key": kid, "host": host, "cmid": cmid, "activation_id": activation_id,
                                 "product": product, "method": method, "date": now})
        self.dirty = True

    def store_cid(self, iid: str, cid: str, *, host: str, activation_id: str | None, partial_key: str,
                  now: str) -> None:
        """Keep an installation ID / confirmation ID pair (digits only) for reuse."""
        iid, cid = _digits(iid), _digits(cid)
        entry = {"cid": cid, "host": host, "activation_id": activation_id, "partial_key": partial_key, "date": now}
        if self.cids.get(iid, {}).get("cid") != cid:
            self.cids[iid] = entry
            self.dirty = True

    def resolve_partial(self, partial: str, host: str) -> str | None:
        """The budgeted key an activation of a product showing ``partial`` uses: the only
        entry with those last five characters, or the one this host holds or used.
        :class:`LedgerError` when several match and none is tied to the host."""
        ids = self.entries_for_partial(partial)
        if len(ids) <= 1:
            return ids[0] if ids else None
        mine = [k for k in ids if self.free_for(k, host)]
        if len(mine) == 1:
            return mine[0]
        raise LedgerError(f"Failed to activate with the key '{_masked(partial)}': the key ledger holds {len(ids)} keys "
                          "ending in these five characters and cannot tell which one this host has; install the "
                          "key again with winops.volume_activation.product_key so that the ledger ties it to the host")


@dataclasses.dataclass(frozen=True)
class ProductView:
    """What the ledger needs from a product read on the host."""

    activation_id: str
    partial_key: str | None
    activated: bool
    name: str | None


class Ledger:
    """The ledger file at ``path``; every change goes through :meth:`transaction`."""

    def __init__(self, path: str, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = path
        self.lock_path = path + ".lock"
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ I/O
    def _load(self) -> LedgerDoc:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return LedgerDoc.new()
        except (OSError, ValueError) as e:
            raise LedgerError(f"Failed to read the key ledger '{self.path}': {e}") from e
        return LedgerDoc.from_json(data, self.path)

    def _write(self, doc: LedgerDoc) -> None:
        """Atomic replace: temp file in the same directory, fsync, rename, fsync the directory."""
        directory = os.path.dirname(self.path) or "."
        prefix = "." + os.path.basename(self.path) + "."
        # Only the holder of the exclusive lock writes, so a temporary file found now was left by a
        # process killed between its creation and the rename: it never became the ledger.
        for name in os.listdir(directory):
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc.to_json(), f, indent=1, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        doc.dirty = False

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> t.Iterator[None]:
        directory = os.path.dirname(self.path) or "."
        try:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise LedgerError(f"Failed to open the key ledger lock '{self.lock_path}': {e}") from e
        try:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if time.monotonic() > deadline:
                        raise LedgerError(f"Failed to lock the key ledger '{self.path}': another process held "
                                          f"'{self.lock_path}' for more than {self.lock_timeout:.0f} s") from e
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    @contextlib.contextmanager
    def transaction(self) -> t.Iterator[LedgerDoc]:
        """Exclusive lock, read, yield the document, write it back atomically if changed."""
        with self._locked(exclusive=True):
            doc = self._load()
            yield doc
            if doc.dirty and (doc.keys or doc.holds or doc.activations or doc.cids or os.path.exists(self.path)):
                self._write(doc)

    def read(self) -> LedgerDoc:
        """A snapshot under a shared lock (never written back)."""
        with self._locked(exclusive=False):
            return self._load()

    def stored_cids(self, iids: t.Iterable[str]) -> dict[str, str]:
        """The confirmation IDs the CID store holds for these installation IDs (digits only);
        an installation ID the store does not hold is left out."""
        wanted = {_digits(i) for i in iids if i}
        if not wanted or not os.path.exists(self.path):
            return {}
        doc = self.read()
        return {i: str(doc.cids[i]["cid"]) for i in wanted if i in doc.cids}

    def cid_owners(self, cids: t.Iterable[str]) -> dict[str, dict[str, t.Any]]:
        """For confirmation IDs (digits) the CID store holds: CID -> its entry, with
        ``installation_id`` added (the installation ID it was deposited for)."""
        wanted = {_digits(c) for c in cids if c}
        if not wanted or not os.path.exists(self.path):
            return {}
        doc = self.read()
        return {e["cid"]: {**e, "installation_id": iid} for iid, e in doc.cids.items() if e.get("cid") in wanted}

    # ------------------------------------------------------------------ the hooks
    def check(self, host: str, claims: t.Sequence[Claim]) -> None:
        """Check mode: raise :class:`LedgerError` where :meth:`reserve` would refuse; no write."""
        doc = self.read()
        self._claims(doc, host, claims, now_iso(), reserve=False)

    def reserve(self, host: str, claims: t.Sequence[Claim]) -> list[str | None]:
        """Under the lock: refuse (:class:`LedgerError`, nothing held) or hold one activation
        per claim whose key the ledger budgets. Returns, per claim, the key id it holds (None
        for a key the ledger does not know)."""
        with self.transaction() as doc:
            return self._claims(doc, host, claims, now_iso(), reserve=True)

    @staticmethod
    def _claims(doc: LedgerDoc, host: str, claims: t.Sequence[Claim], now: str, reserve: bool) -> list[str | None]:
        ids: list[str | None] = []
        for c in claims:
            if c.kind == "install":
                kid: str | None = doc.key_id(c.key) if c.key else None
                kid = kid if kid in doc.keys else None
            else:
                kid = doc.resolve_partial(c.partial_key, host)
            ids.append(kid)
        for c, kid in zip(claims, ids, strict=False):
            if kid is None:
                continue
            want = doc.keys[kid].get("edition")
            if c.kind == "install" and want and c.edition and c.edition.lower() != str(want).lower():
                raise LedgerError(
                    f"Failed to {c.description}: the key ledger records this key as one for the {want} edition, and "
                    f"this host runs the {c.edition} edition; nothing was sent. Next step: use the key for "
                    f"{c.edition}, or correct the edition with winops.volume_activation.key_budget")
            msg = doc.refusal(kid, host, c.description)
            if msg:
                raise LedgerError(msg)
        if reserve:
            for c, kid in zip(claims, ids, strict=False):
                if kid is not None:
                    doc.hold(kid, host, c.kind, c.activation_id, now)
        return ids

    def settle(self, host: str, claims: t.Sequence[Claim], ids: t.Sequence[str | None],
               outcomes: t.Sequence[bool | None], cmid: str | None) -> None:
        """After the apply. ``outcomes[i]`` is True when claim ``i``'s operation succeeded,
        False when it failed, None when it was not sent. A successful activation is
        recorded (also for keys the ledger does not budget, when a ledger exists); a failed
        install or activation releases the hold it made."""
        with self.transaction() as doc:
            now = now_iso()
            for c, held, ok in zip(claims, ids, outcomes, strict=True):
                if ok and c.installation_id and c.confirmation_id:
                    doc.store_cid(c.installation_id, c.confirmation_id, host=host, activation_id=c.activation_id,
                                  partial_key=c.partial_key, now=now)
                if c.kind == "activate" and ok:
                    kid = held if held is not None else doc.resolve_partial(c.partial_key, host)
                    if kid is None:
                        continue
                    doc.record(kid, host, cmid=cmid, activation_id=c.activation_id, product=c.product,
                               method=c.method or "online", now=now)
                elif held is not None and ok is False:
                    doc.release(held, host)

    def reconcile(self, host: str, products: t.Sequence[ProductView], cmid: str | None) -> list[str]:
        """Settle the holds a killed run left for ``host`` from what the host shows now.

        Reads under a shared lock and takes the exclusive lock only when the host has holds.
        Returns one line per settled hold (for the task's log)."""
        snap = self.read()
        if not any(host in hs for hs in snap.holds.values()):
            return []
        notes: list[str] = []
        with self.transaction() as doc:
            now = now_iso()
            for kid in [k for k, hs in doc.holds.items() if host in hs]:
                partial = doc.keys.get(kid, {}).get("partial_key") or kid.split(":", 1)[0]
                mine = [p for p in products if p.partial_key and p.partial_key.upper() == partial]
                done = [p for p in mine if p.activated]
                if done:
                    p = done[0]
                    if any(a["key"] == kid and a["host"] == host and a.get("activation_id") == p.activation_id
                           for a in doc.activations):
                        doc.release(kid, host)  # already recorded: never count it twice
                    else:
                        doc.record(kid, host, cmid=cmid, activation_id=p.activation_id, product=p.name,
                                   method="recovered", now=now)
                        notes.append(f"key ledger: recorded the activation of '{_masked(partial)}' on {host} "
                                     "left unrecorded by an interrupted run")
                elif not mine:
                    doc.release(kid, host)
                    notes.append(f"key ledger: released the reservation of '{_masked(partial)}' on {host} "
                                 "(the key is no longer installed)")
        return notes
