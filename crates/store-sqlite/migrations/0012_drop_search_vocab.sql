-- The search of past incidents counts a word's rows by matching the word itself, so it is
-- counted as the index stems it; this vocabulary, keyed by the stems, is no longer read.
DROP TABLE incident_search_vocab;
