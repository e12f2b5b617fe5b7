"""Claims in a study's database: who reports a study, which seed each process samples with.

Processes sharing an Optuna study (:mod:`.optuna_search`) agree through one table,
``skmlp_claims``, in the study's own database (SQLite or PostgreSQL, through
SQLAlchemy): one row per study and claim, whose primary key lets one process
insert it and refuses every other. A claim records its owner (an output folder's
token, ``OUT/optuna_worker``) and where that process runs, so that a process
run again in its folder finds its own claims.
"""

from __future__ import annotations

import time

__all__ = ["Claims"]

#: Processes one study numbers (each samples with its own seed).
MAX_PROCESSES = 1000


class Claims:
    """The claims of one study in the database at ``url``, for one owner.

    Parameters
    ----------
    url : str
        The study's SQLAlchemy URL.
    study : str
        The study's name.
    owner : str
        This output folder's token.
    place : str
        Where this process runs, as the others will be told.
    """

    def __init__(self, url: str, study: str, owner: str, place: str):
        from sqlalchemy import Column, MetaData, String, Table

        self.url, self.study, self.owner, self.place = url, study, owner, place[:1024]
        self.meta = MetaData()
        self.table = Table(
            "skmlp_claims",
            self.meta,
            Column("study", String(255), primary_key=True),
            Column("what", String(64), primary_key=True),
            Column("owner", String(64), nullable=False),
            Column("place", String(1024), nullable=False),
        )

    def _engine(self):
        from sqlalchemy import create_engine
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(self.url)
        for attempt in range(5):  # another process may create the table at the same moment
            try:
                self.meta.create_all(engine, checkfirst=True)
                return engine
            except SQLAlchemyError:
                if attempt == 4:
                    engine.dispose()
                    raise
                time.sleep(0.2 * (attempt + 1))
        return engine

    def claim(self, what: str, engine=None) -> str | None:
        """Claim ``what``: ``None`` when this owner holds it (now or from before), else
        the holder's place."""
        from sqlalchemy import insert, select
        from sqlalchemy.exc import IntegrityError

        own = engine is None
        engine = engine or self._engine()
        table = self.table
        try:
            try:
                row = dict(study=self.study, what=what, owner=self.owner, place=self.place)
                with engine.begin() as conn:
                    conn.execute(insert(table).values(**row))
                return None
            except IntegrityError:
                pass
            with engine.connect() as conn:
                row = conn.execute(
                    select(table.c.owner, table.c.place).where(
                        table.c.study == self.study, table.c.what == what
                    )
                ).one()
            return None if row.owner == self.owner else str(row.place)
        finally:
            if own:
                engine.dispose()

    def process_number(self) -> int:
        """This process's number in the study: 0 for the first folder to join it, 1 for the
        next, ...; a folder run again keeps its number."""
        engine = self._engine()
        try:
            for number in range(MAX_PROCESSES):
                if self.claim(f"process {number}", engine) is None:
                    return number
        finally:
            engine.dispose()
        raise RuntimeError(f"study {self.study} has {MAX_PROCESSES} processes, the most it takes")
