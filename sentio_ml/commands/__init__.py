"""One module per `sentio-ml` subcommand; see sentio_ml.cli."""
