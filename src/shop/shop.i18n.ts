/** Strings of Settings › Shop. */
export const shopEn = {
  'shop.settings.title': 'Shop',
  'shop.settings.intro': 'Settings for the whole shop.',
  'shop.settings.saved': 'Shop settings saved.',
  'shop.currency.label': 'Currency',
  'shop.currency.hint': 'Every amount in Parley (orders, estimates, invoices, the documents in a chat’s details) is shown in this currency. Amounts are not converted.',
  'shop.currency.current': 'Amounts are shown in',
  'shop.currency.example': 'Example',
  'shop.currency.chosen': 'chosen here',
  'shop.currency.default_from': 'the default, from the server’s locale ({locale})',
  'shop.currency.default_option': 'Default: {name} ({code}), from the server’s locale ({locale})',
  'shop.currency.invalid': 'Choose a currency from the list.',
};

export const shopFr: Record<keyof typeof shopEn, string> = {
  'shop.settings.title': 'Boutique',
  'shop.settings.intro': 'Réglages de toute la boutique.',
  'shop.settings.saved': 'Réglages de la boutique enregistrés.',
  'shop.currency.label': 'Devise',
  'shop.currency.hint': 'Tous les montants de Parley (commandes, devis, factures, les documents dans le détail d’une discussion) sont affichés dans cette devise. Ils ne sont pas convertis.',
  'shop.currency.current': 'Les montants sont affichés en',
  'shop.currency.example': 'Exemple',
  'shop.currency.chosen': 'choisie ici',
  'shop.currency.default_from': 'par défaut, d’après les paramètres régionaux du serveur ({locale})',
  'shop.currency.default_option': 'Par défaut : {name} ({code}), d’après les paramètres régionaux du serveur ({locale})',
  'shop.currency.invalid': 'Choisissez une devise dans la liste.',
};
