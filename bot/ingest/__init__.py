"""Chat ingestion: the worker that turns queued chat files into images and answers for them."""
