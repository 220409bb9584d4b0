"""Pure interview domain: no web framework, database or provider imports."""
