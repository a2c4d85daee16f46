"""The unit of work: one session, one transaction, rolled back unless committed.

The database failing as a service (refused or lost connections, timeouts, a lock held too long) leaves it as
``StorageUnavailable``, the port's word for it; a constraint or a bug stays the SQLAlchemy error it is."""

from __future__ import annotations

from types import TracebackType
from weakref import WeakKeyDictionary

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.policy import Policy
from bot.services.ports import StorageBusy, StorageUnavailable
from storage.deadlines import DeadlineRepository
from storage.mediators import MediatorRepository
from storage.outbox import OutboxRepository
from storage.people import PeopleRepository
from storage.repositories import (
    AuditRepository,
    CaseRepository,
    ContractRepository,
    EvidenceRepository,
    LedgerRepository,
    PolicyRepository,
    QuestionRepository,
)

# PostgreSQL's lock_not_available (lock_timeout) and query_canceled (statement_timeout).
BUSY_STATES = frozenset({"55P03", "57014"})
# The policy versions each database holds, read once (they never change): per sessionmaker, so per database.
_POLICIES: WeakKeyDictionary[sessionmaker[Session], dict[str, Policy]] = WeakKeyDictionary()


class SqlUnitOfWork:
    contracts: ContractRepository
    cases: CaseRepository
    ledger: LedgerRepository
    audit: AuditRepository
    evidence: EvidenceRepository
    questions: QuestionRepository
    policies: PolicyRepository
    outbox: OutboxRepository
    deadlines: DeadlineRepository
    people: PeopleRepository
    mediators: MediatorRepository

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._policies = _POLICIES.setdefault(sessions, {})

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.contracts = ContractRepository(self.session)
        self.cases = CaseRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.evidence = EvidenceRepository(self.session)
        self.questions = QuestionRepository(self.session)
        self.policies = PolicyRepository(self.session, self._policies)
        self.outbox = OutboxRepository(self.session)
        self.deadlines = DeadlineRepository(self.session)
        self.people = PeopleRepository(self.session)
        self.mediators = MediatorRepository(self.session)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            self.rollback()
            self.session.close()
        except SQLAlchemyError:
            if error is None:
                raise
            self.session.invalidate()  # the connection is gone with the database; the error below says why
        if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
            why = " ".join(str(error.orig if hasattr(error, "orig") else error).split())[:300]
            if getattr(getattr(error, "orig", None), "sqlstate", None) in BUSY_STATES:
                raise StorageBusy(why) from error
            raise StorageUnavailable(why) from error

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
