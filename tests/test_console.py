"""`furat chat`: typed lines in, the bot's messages and numbered buttons out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEEDS


def test_console_conversation(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FURAT_DB": str(tmp_path / "c.db"),
        "FURAT_SEEDS": str(SEEDS),
        "FURAT_LOG_LEVEL": "WARNING",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    lines = "كاليبر\n1\n/inline Raqqa\n/about\n/quit\n"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=lines,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "🔎 نتائج" in out and "[1] 📄 المقال كاملاً (1)" in out
    assert "ومستودعات أسلحة وذخائر للتنظيم" in out  # button 1 opened the full article
    assert "— inline:" in out and "الرقة" in out
    assert "المقالات: 5" in out
    assert "<b>" not in out
