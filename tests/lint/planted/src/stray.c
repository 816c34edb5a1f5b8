/* Planted: a source outside every layer folder. */
int planted_stray;
