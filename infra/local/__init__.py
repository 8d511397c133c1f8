"""The local runtime: autoar's AWS resources on moto and its handlers in-process, on one machine."""
