"""``brainnet serve``: one saved model behind an HTTP API and a web page (FastAPI + uvicorn).

``app.py`` the endpoints, ``model.py`` the served model (``brainnet.load`` and the public estimator API),
``inputs.py`` reading rows and uploads, ``limits.py`` the limits the server enforces itself, ``server.py``
binding the port and running uvicorn, ``page.html`` the self-contained page. Importing this package imports
FastAPI; the CLI imports it only for ``brainnet serve``.
"""
