// Key Vault (RBAC authorization, no access policies) for the cloud secrets: the Power BI
// client secret and the model-signing private key. Their values are set out of band
// (docs/deployment.md); app settings reference them with Key Vault references.

@description('Azure region.')
param location string

@description('Key Vault name.')
param vaultName string

@description('Tags for every resource.')
param tags object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:Key Vault references from a Function App without VNet integration come over the public endpoint (App Service is not a trusted service for them); access is Entra RBAC only. Private endpoint: docs/deployment.md "Network hardening".
  // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: the platform resolves Key Vault references over the public endpoint unless the app is VNet-integrated.
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output vaultName string = vault.name
output vaultUri string = vault.properties.vaultUri
