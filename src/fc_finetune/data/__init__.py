"""The data layer: canonical records, converters, rendering, collation, BFCL files."""
