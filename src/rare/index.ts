/** The rare-event task of Kaiser et al. 2017 (section 4) and its sequence model with the memory inside. */
export * from './data';
export * from './model';
