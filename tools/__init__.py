"""Repository tools run by the Makefile and the tests (locks, the Functions package); never deployed."""
