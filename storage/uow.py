"""The unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from storage.deadlines import DeadlineRepository
from storage.outbox import OutboxRepository
from storage.repositories import (
    AuditRepository,
    CaseRepository,
    ContractRepository,
    EvidenceRepository,
    LedgerRepository,
    PolicyRepository,
    QuestionRepository,
)


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

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.contracts = ContractRepository(self.session)
        self.cases = CaseRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.evidence = EvidenceRepository(self.session)
        self.questions = QuestionRepository(self.session)
        self.policies = PolicyRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.deadlines = DeadlineRepository(self.session)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
