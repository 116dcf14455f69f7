/** The 20 astronomical sources the benchmarks' synthetic workspaces and archives observe. */
export const skySources = [
  "NGC253",
  "IRC+10216",
  "Orion-KL",
  "W43",
  "Sgr B2",
  "rho Oph",
  "M82",
  "NGC1068",
  "W51",
  "DR21",
  "Cygnus X",
  "Orion Bar",
  "NGC6334",
  "G333",
  "Serpens South",
  "Carina",
  "M17",
  "W3(OH)",
  "Arp220",
  "30 Dor"
] as const
