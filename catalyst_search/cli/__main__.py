from catalyst_search.cli import main

raise SystemExit(main())
