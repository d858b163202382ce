"""``python -m harness.repair``: one SPPFT process (:func:`harness.repair.sppft.main`).

Under several processes: ``accelerate launch --multi_gpu --num_processes 2
-m harness.repair --baseline B --data F --band A,B --out DIR``.
"""

from __future__ import annotations

from harness.repair.sppft import main

raise SystemExit(main())
