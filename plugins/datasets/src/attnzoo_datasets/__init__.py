"""attnzoo-datasets: dataset recipes (BBC News, LRA ListOps) registered as an attnzoo plugin."""
