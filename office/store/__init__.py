"""The office's database: SQLAlchemy 2 Core on SQLite or PostgreSQL; all SQL lives here."""
