"""A local web server and page/feed fixtures made from the seed texts, for tests of live sources."""
