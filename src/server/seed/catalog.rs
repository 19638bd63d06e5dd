//! Small, freely usable code subsets for the synthetic population.
//!
//! Sources: LOINC codes (Regenstrief Institute, LOINC licence: free use of the codes), SNOMED CT
//! concepts from the SNOMED CT IPS free set (CC BY 4.0) as used in the HL7 FHIR examples,
//! ICD-10-CM (CDC/NCHS, public domain), RxNorm ingredient RXCUIs (NLM, the RXNORM source is free
//! of licence restrictions), CVX vaccine codes (CDC, public domain). Reference ranges are typical
//! adult ranges for synthetic data, not for clinical use.

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub const CVX: &str = "http://hl7.org/fhir/sid/cvx";
pub const UCUM: &str = "http://unitsofmeasure.org";

/// A quantitative test: code, name, UCUM unit, reference range, critical limits, decimals.
pub struct Analyte {
    pub loinc: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub low: f64,
    pub high: f64,
    pub critical_low: Option<f64>,
    pub critical_high: Option<f64>,
    pub decimals: usize,
}

// A table row constructor: the arguments are the columns.
#[allow(clippy::too_many_arguments)]
const fn a(
    loinc: &'static str,
    name: &'static str,
    unit: &'static str,
    low: f64,
    high: f64,
    critical_low: Option<f64>,
    critical_high: Option<f64>,
    decimals: usize,
) -> Analyte {
    Analyte {
        loinc,
        name,
        unit,
        low,
        high,
        critical_low,
        critical_high,
        decimals,
    }
}

pub struct Panel {
    pub loinc: &'static str,
    pub name: &'static str,
    pub analytes: &'static [Analyte],
}

pub const CBC: Panel = Panel {
    loinc: "58410-2",
    name: "CBC panel - Blood by Automated count",
    analytes: &[
        a(
            "6690-2",
            "Leukocytes [#/volume] in Blood by Automated count",
            "10*3/uL",
            4.5,
            11.0,
            Some(2.0),
            Some(30.0),
            1,
        ),
        a(
            "718-7",
            "Hemoglobin [Mass/volume] in Blood",
            "g/dL",
            12.0,
            17.5,
            Some(7.0),
            Some(20.0),
            1,
        ),
        a(
            "4544-3",
            "Hematocrit [Volume Fraction] of Blood by Automated count",
            "%",
            36.0,
            50.0,
            Some(20.0),
            Some(60.0),
            1,
        ),
        a(
            "777-3",
            "Platelets [#/volume] in Blood by Automated count",
            "10*3/uL",
            150.0,
            400.0,
            Some(50.0),
            Some(1000.0),
            0,
        ),
    ],
};

pub const BMP: Panel = Panel {
    loinc: "51990-0",
    name: "Basic metabolic panel - Blood",
    analytes: &[
        a(
            "2951-2",
            "Sodium [Moles/volume] in Serum or Plasma",
            "mmol/L",
            135.0,
            145.0,
            Some(120.0),
            Some(160.0),
            0,
        ),
        a(
            "2823-3",
            "Potassium [Moles/volume] in Serum or Plasma",
            "mmol/L",
            3.5,
            5.1,
            Some(2.8),
            Some(6.2),
            1,
        ),
        a(
            "2075-0",
            "Chloride [Moles/volume] in Serum or Plasma",
            "mmol/L",
            98.0,
            107.0,
            None,
            None,
            0,
        ),
        a(
            "2028-9",
            "Carbon dioxide, total [Moles/volume] in Serum or Plasma",
            "mmol/L",
            22.0,
            29.0,
            Some(10.0),
            Some(40.0),
            0,
        ),
        a(
            "3094-0",
            "Urea nitrogen [Mass/volume] in Serum or Plasma",
            "mg/dL",
            7.0,
            20.0,
            None,
            Some(100.0),
            0,
        ),
        a(
            "2160-0",
            "Creatinine [Mass/volume] in Serum or Plasma",
            "mg/dL",
            0.6,
            1.3,
            None,
            Some(7.0),
            2,
        ),
        a(
            "2345-7",
            "Glucose [Mass/volume] in Serum or Plasma",
            "mg/dL",
            70.0,
            99.0,
            Some(50.0),
            Some(400.0),
            0,
        ),
        a(
            "17861-6",
            "Calcium [Mass/volume] in Serum or Plasma",
            "mg/dL",
            8.6,
            10.3,
            Some(6.5),
            Some(13.0),
            1,
        ),
    ],
};

pub const LIPIDS: Panel = Panel {
    loinc: "57698-3",
    name: "Lipid panel with direct LDL - Serum or Plasma",
    analytes: &[
        a(
            "2093-3",
            "Cholesterol [Mass/volume] in Serum or Plasma",
            "mg/dL",
            100.0,
            199.0,
            None,
            None,
            0,
        ),
        a(
            "2571-8",
            "Triglyceride [Mass/volume] in Serum or Plasma",
            "mg/dL",
            30.0,
            149.0,
            None,
            Some(1000.0),
            0,
        ),
        a(
            "2085-9",
            "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
            "mg/dL",
            40.0,
            90.0,
            None,
            None,
            0,
        ),
        a(
            "18262-6",
            "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
            "mg/dL",
            40.0,
            99.0,
            None,
            None,
            0,
        ),
    ],
};

pub const HBA1C: Analyte = a(
    "4548-4",
    "Hemoglobin A1c/Hemoglobin.total in Blood",
    "%",
    4.0,
    5.6,
    None,
    Some(14.0),
    1,
);
pub const INR: Analyte = a(
    "6301-6",
    "INR in Platelet poor plasma by Coagulation assay",
    "{INR}",
    0.8,
    1.2,
    None,
    Some(5.0),
    1,
);
pub const TROPONIN: Analyte = a(
    "10839-9",
    "Troponin I.cardiac [Mass/volume] in Serum or Plasma",
    "ng/mL",
    0.0,
    0.04,
    None,
    Some(0.5),
    2,
);

/// Vital signs (LOINC, UCUM): code, name, unit, usual low/high for synthetic values.
pub struct Vital {
    pub loinc: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub low: f64,
    pub high: f64,
    pub decimals: usize,
}

pub const HEART_RATE: Vital = Vital {
    loinc: "8867-4",
    name: "Heart rate",
    unit: "/min",
    low: 58.0,
    high: 100.0,
    decimals: 0,
};
pub const RESP_RATE: Vital = Vital {
    loinc: "9279-1",
    name: "Respiratory rate",
    unit: "/min",
    low: 12.0,
    high: 20.0,
    decimals: 0,
};
pub const TEMPERATURE: Vital = Vital {
    loinc: "8310-5",
    name: "Body temperature",
    unit: "Cel",
    low: 36.1,
    high: 37.6,
    decimals: 1,
};
pub const SPO2: Vital = Vital {
    loinc: "59408-5",
    name: "Oxygen saturation in Arterial blood by Pulse oximetry",
    unit: "%",
    low: 93.0,
    high: 100.0,
    decimals: 0,
};
pub const WEIGHT: Vital = Vital {
    loinc: "29463-7",
    name: "Body weight",
    unit: "kg",
    low: 50.0,
    high: 110.0,
    decimals: 1,
};
pub const BP_PANEL: (&str, &str) = ("85354-9", "Blood pressure panel with all children optional");
pub const SYSTOLIC: (&str, &str) = ("8480-6", "Systolic blood pressure");
pub const DIASTOLIC: (&str, &str) = ("8462-4", "Diastolic blood pressure");

/// A problem with its SNOMED CT concept, ICD-10-CM code, and the drugs that treat it.
pub struct Problem {
    pub snomed: &'static str,
    pub icd10: &'static str,
    pub name: &'static str,
    pub treatments: &'static [usize],
}

/// Medications by RxNorm ingredient RXCUI, with a usual dose and route.
pub struct Drug {
    pub rxnorm: &'static str,
    pub name: &'static str,
    pub dose: f64,
    pub unit: &'static str,
    pub route: (&'static str, &'static str),
    pub frequency: &'static str,
    pub per_day: u32,
}

const ORAL: (&str, &str) = ("26643006", "Oral route");
const SUBCUT: (&str, &str) = ("34206005", "Subcutaneous route");
const INHALED: (&str, &str) = ("447694001", "Respiratory tract route");

const fn drug(
    rxnorm: &'static str,
    name: &'static str,
    dose: f64,
    unit: &'static str,
    route: (&'static str, &'static str),
    frequency: &'static str,
    per_day: u32,
) -> Drug {
    Drug {
        rxnorm,
        name,
        dose,
        unit,
        route,
        frequency,
        per_day,
    }
}

pub const DRUGS: &[Drug] = &[
    drug("29046", "lisinopril", 10.0, "mg", ORAL, "once daily", 1), // 0
    drug("17767", "amlodipine", 5.0, "mg", ORAL, "once daily", 1),  // 1
    drug("6809", "metformin", 500.0, "mg", ORAL, "twice daily", 2), // 2
    drug(
        "274783",
        "insulin glargine",
        20.0,
        "[IU]",
        SUBCUT,
        "at bedtime",
        1,
    ), // 3
    drug("11289", "warfarin", 5.0, "mg", ORAL, "once daily", 1),    // 4
    drug("1364430", "apixaban", 5.0, "mg", ORAL, "twice daily", 2), // 5
    drug("83367", "atorvastatin", 40.0, "mg", ORAL, "once daily", 1), // 6
    drug("36567", "simvastatin", 20.0, "mg", ORAL, "at bedtime", 1), // 7
    drug("10582", "levothyroxine", 75.0, "ug", ORAL, "once daily", 1), // 8
    drug("36437", "sertraline", 50.0, "mg", ORAL, "once daily", 1), // 9
    drug(
        "5640",
        "ibuprofen",
        400.0,
        "mg",
        ORAL,
        "three times daily",
        3,
    ), // 10
    drug("7258", "naproxen", 500.0, "mg", ORAL, "twice daily", 2),  // 11
    drug(
        "161",
        "acetaminophen",
        1000.0,
        "mg",
        ORAL,
        "four times daily",
        4,
    ), // 12
    drug(
        "435",
        "albuterol",
        100.0,
        "ug",
        INHALED,
        "every 4 hours as needed",
        0,
    ), // 13
    drug("4603", "furosemide", 40.0, "mg", ORAL, "once daily", 1),  // 14
    drug("6918", "metoprolol", 50.0, "mg", ORAL, "twice daily", 2), // 15
    drug("7646", "omeprazole", 20.0, "mg", ORAL, "once daily", 1),  // 16
    drug("1191", "aspirin", 81.0, "mg", ORAL, "once daily", 1),     // 17
    drug(
        "21212",
        "clarithromycin",
        500.0,
        "mg",
        ORAL,
        "twice daily",
        2,
    ), // 18
    drug("4450", "fluconazole", 150.0, "mg", ORAL, "once daily", 1), // 19
    drug("9997", "spironolactone", 25.0, "mg", ORAL, "once daily", 1), // 20
    drug(
        "723",
        "amoxicillin",
        500.0,
        "mg",
        ORAL,
        "three times daily",
        3,
    ), // 21
];

/// Index of warfarin and the NSAIDs, to seed the well-known interacting pair on purpose.
pub const WARFARIN: usize = 4;
pub const NSAIDS: &[usize] = &[10, 11, 17];

pub const PROBLEMS: &[Problem] = &[
    Problem {
        snomed: "59621000",
        icd10: "I10",
        name: "Essential hypertension",
        treatments: &[0, 1],
    },
    Problem {
        snomed: "44054006",
        icd10: "E11.9",
        name: "Type 2 diabetes mellitus",
        treatments: &[2, 3],
    },
    Problem {
        snomed: "49436004",
        icd10: "I48.91",
        name: "Atrial fibrillation",
        treatments: &[4, 5, 15],
    },
    Problem {
        snomed: "55822004",
        icd10: "E78.5",
        name: "Hyperlipidemia",
        treatments: &[6, 7],
    },
    Problem {
        snomed: "40930008",
        icd10: "E03.9",
        name: "Hypothyroidism",
        treatments: &[8],
    },
    Problem {
        snomed: "35489007",
        icd10: "F32.9",
        name: "Depressive disorder",
        treatments: &[9],
    },
    Problem {
        snomed: "396275006",
        icd10: "M19.90",
        name: "Osteoarthritis",
        treatments: &[10, 11, 12],
    },
    Problem {
        snomed: "195967001",
        icd10: "J45.909",
        name: "Asthma",
        treatments: &[13],
    },
    Problem {
        snomed: "13645005",
        icd10: "J44.9",
        name: "Chronic obstructive lung disease",
        treatments: &[13],
    },
    Problem {
        snomed: "84114007",
        icd10: "I50.9",
        name: "Heart failure",
        treatments: &[14, 15, 20],
    },
    Problem {
        snomed: "709044004",
        icd10: "N18.9",
        name: "Chronic kidney disease",
        treatments: &[],
    },
    Problem {
        snomed: "235595009",
        icd10: "K21.9",
        name: "Gastroesophageal reflux disease",
        treatments: &[16],
    },
    Problem {
        snomed: "37796009",
        icd10: "G43.909",
        name: "Migraine",
        treatments: &[12],
    },
    Problem {
        snomed: "414916001",
        icd10: "E66.9",
        name: "Obesity",
        treatments: &[],
    },
    Problem {
        snomed: "233604007",
        icd10: "J18.9",
        name: "Pneumonia",
        treatments: &[21, 18],
    },
];

/// An allergy: substance coding, category, typical reaction (SNOMED CT) and criticality.
pub struct Allergen {
    pub system: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    pub category: &'static str,
}

pub const ALLERGENS: &[Allergen] = &[
    Allergen {
        system: RXNORM,
        code: "7980",
        name: "penicillin G",
        category: "medication",
    },
    Allergen {
        system: RXNORM,
        code: "723",
        name: "amoxicillin",
        category: "medication",
    },
    Allergen {
        system: RXNORM,
        code: "10180",
        name: "sulfamethoxazole",
        category: "medication",
    },
    Allergen {
        system: RXNORM,
        code: "2670",
        name: "codeine",
        category: "medication",
    },
    Allergen {
        system: RXNORM,
        code: "1191",
        name: "aspirin",
        category: "medication",
    },
    Allergen {
        system: RXNORM,
        code: "5640",
        name: "ibuprofen",
        category: "medication",
    },
    Allergen {
        system: RXNORM,
        code: "7052",
        name: "morphine",
        category: "medication",
    },
    Allergen {
        system: SNOMED,
        code: "256349002",
        name: "peanut",
        category: "food",
    },
    Allergen {
        system: SNOMED,
        code: "227037002",
        name: "fish",
        category: "food",
    },
    Allergen {
        system: SNOMED,
        code: "102263004",
        name: "eggs",
        category: "food",
    },
    Allergen {
        system: SNOMED,
        code: "111088007",
        name: "latex",
        category: "environment",
    },
    Allergen {
        system: SNOMED,
        code: "256259004",
        name: "pollen",
        category: "environment",
    },
];

pub const REACTIONS: &[(&str, &str)] = &[
    ("39579001", "Anaphylaxis"),
    ("271807003", "Eruption of skin"),
    ("126485001", "Urticaria"),
    ("267036007", "Dyspnea"),
    ("422587007", "Nausea"),
    ("418290006", "Itching"),
];

pub const NO_KNOWN_ALLERGY: (&str, &str) = ("716186003", "No known allergy");
pub const NO_KNOWN_DRUG_ALLERGY: (&str, &str) = ("409137002", "No known drug allergy");

pub const VACCINES: &[(&str, &str)] = &[
    ("141", "Influenza, seasonal, injectable"),
    ("115", "Tdap"),
    ("133", "Pneumococcal conjugate PCV 13"),
    ("43", "Hepatitis B vaccine, adult dosage"),
    ("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"),
    ("187", "Zoster vaccine recombinant"),
];

pub const PROCEDURES: &[(&str, &str)] = &[
    ("73761001", "Colonoscopy"),
    ("40701008", "Echocardiography"),
    ("80146002", "Appendectomy"),
    ("29303009", "Electrocardiographic procedure"),
];

/// Note types (LOINC document ontology).
pub const NOTE_TYPES: &[(&str, &str)] = &[
    ("11506-3", "Progress note"),
    ("34117-2", "History and physical note"),
    ("18842-5", "Discharge summary"),
    ("28570-0", "Procedure note"),
    ("34746-8", "Nurse note"),
];
